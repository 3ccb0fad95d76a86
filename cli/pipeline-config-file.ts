import { readFile } from 'node:fs/promises';
import { formatFieldProblems } from '../contracts/errors';
import { parsePipelineInput, type PipelineInput } from '../contracts/pipeline-input';
import { UsageError } from './config-edge';

/** Reads and validates a pipeline config file; every bad field is named before anything starts. */
export async function readPipelineConfigFile(file: string): Promise<PipelineInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = parsePipelineInput(raw);
  if (!parsed.ok) throw new UsageError(`Config file ${file} is invalid:\n${formatFieldProblems(parsed.problems)}`);
  return parsed.value;
}
