import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { RETRYABLE_STAGES, type RetryRequest } from '../../contracts/operator-retry';
import type { StageName } from '../../contracts/stages';
import { abortUpdate, retryStageUpdate } from '../../workflows/messages';
import { workflowUiUrl } from '../config-edge';
import { parseSeconds, sendRunUpdate } from '../send-update';

interface RetryOptions {
  stage?: StageName;
  set: Record<string, unknown>;
  dataset?: string;
  by: string;
  reason?: string;
  timeout: number;
  json?: boolean;
}

/** `trainyard retry <workflowId>`: a run waiting for an operator runs again from its failed stage, with fixes. */
export function retryCommand(): Command {
  return new Command('retry')
    .description(
      'Retry a run waiting for an operator (outcome awaiting-operator) from its failed stage or an earlier one, optionally with changed input',
    )
    .argument('<workflowId>', 'the run waiting for an operator')
    .option(
      '--stage <stage>',
      `restart from this stage (default: the failed one): ${RETRYABLE_STAGES.join(', ')}`,
      parseStage,
    )
    .option(
      '--set <path=value>',
      'change an input field, e.g. --set validation.maxMissingFraction=0.5 (value as JSON, else text); repeatable',
      collectSetting,
      {},
    )
    .option('--dataset <uri>', 'shorthand for --set dataset.uri=<uri>')
    .option('--by <who>', 'who retries (recorded in the run)', userInfo().username)
    .option('--reason <why>', 'why (recorded in the run)')
    .option('--timeout <seconds>', 'how long to wait for the run to acknowledge', parseSeconds, 60)
    .option('--json', 'print the acknowledgement as JSON')
    .action(async (workflowId: string, options: RetryOptions) => {
      const set = { ...options.set, ...(options.dataset ? { 'dataset.uri': options.dataset } : {}) };
      const request: RetryRequest = {
        ...(options.stage ? { stage: options.stage } : {}),
        set,
        by: options.by,
        ...(options.reason ? { reason: options.reason } : {}),
      };
      const sent = await sendRunUpdate(workflowId, retryStageUpdate, [request], 'retry', options.timeout);
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ workflowId, ...sent.ack })}\n`);
        return;
      }
      const kept = sent.ack.kept.length ? `; kept ${sent.ack.kept.join(', ')}` : '';
      process.stdout.write(
        `Retrying ${workflowId} from ${sent.ack.restartFrom}${kept}\nFollow it: trainyard status ${workflowId} --follow\nTemporal UI: ${workflowUiUrl(sent.config, workflowId)}\n`,
      );
    });
}

/** `trainyard abort <workflowId>`: a run waiting for an operator fails now, with its stage's error. */
export function abortCommand(): Command {
  return new Command('abort')
    .description("Give up on a run waiting for an operator: it fails as PipelineAborted, carrying the stage's error")
    .argument('<workflowId>', 'the run waiting for an operator')
    .option('--by <who>', 'who aborts (recorded in the failure)', userInfo().username)
    .option('--reason <why>', 'why (recorded in the failure)')
    .option('--timeout <seconds>', 'how long to wait for the run to acknowledge', parseSeconds, 60)
    .action(async (workflowId: string, options: { by: string; reason?: string; timeout: number }) => {
      const request = { by: options.by, ...(options.reason ? { reason: options.reason } : {}) };
      await sendRunUpdate(workflowId, abortUpdate, [request], 'abort', options.timeout);
      process.stdout.write(`Aborted ${workflowId}\n`);
    });
}

function parseStage(value: string): StageName {
  if (!(RETRYABLE_STAGES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a stage that can be retried; one of: ${RETRYABLE_STAGES.join(', ')}.`,
    );
  }
  return value as StageName;
}

/** `--set a.b=value`: the value is JSON when it parses (numbers, booleans, arrays), else the text itself. */
export function collectSetting(setting: string, settings: Record<string, unknown>): Record<string, unknown> {
  const at = setting.indexOf('=');
  if (at <= 0)
    throw new InvalidArgumentError(`expected path=value, e.g. dataset.uri=s3://bucket/data.csv, got "${setting}".`);
  const path = setting.slice(0, at).trim();
  const text = setting.slice(at + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // plain text, e.g. a URI
  }
  return { ...settings, [path]: value };
}
