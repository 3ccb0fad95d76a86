import { Command } from 'commander';
import { pipelineInputJsonSchema } from '../../contracts/pipeline-input';

export function schemaCommand(): Command {
  return new Command('schema')
    .description('Print the JSON Schema of the pipeline input (what the Temporal UI start form accepts)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(pipelineInputJsonSchema(), null, 2)}\n`);
    });
}
