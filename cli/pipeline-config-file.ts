import { readFile } from 'node:fs/promises';
import { formatFieldProblems } from '../contracts/errors';
import { parsePipelineInput, type PipelineInput } from '../contracts/pipeline-input';
import { UsageError } from './config-edge';

/** Reads and validates a pipeline config file; every bad field is named before anything starts. */
export async function readPipelineConfigFile(file: string): Promise<PipelineInput> {
  const parsed = parsePipelineInput(await readJsonConfigFile(file));
  if (!parsed.ok) throw new UsageError(`Config file ${file} is invalid:\n${formatFieldProblems(parsed.problems)}`);
  return parsed.value;
}

/** Reads a JSON config file as is (no defaults applied), for callers that validate it themselves. */
export async function readJsonConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`Config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}
