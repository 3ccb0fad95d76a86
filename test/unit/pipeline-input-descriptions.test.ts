import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipelineInputJsonSchema } from '../../contracts/pipeline-input';

type JsonSchema = { [key: string]: unknown };

/** Every property anywhere in the schema (nested objects, array items, union members), by its JSON path. */
function propertiesOf(schema: JsonSchema, path = ''): Array<{ path: string; schema: JsonSchema }> {
  const found: Array<{ path: string; schema: JsonSchema }> = [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, property] of Object.entries(properties)) {
    const at = path ? `${path}.${name}` : name;
    found.push({ path: at, schema: property }, ...propertiesOf(property, at));
  }
  if (schema.items && typeof schema.items === 'object')
    found.push(...propertiesOf(schema.items as JsonSchema, `${path}[]`));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const member of (schema[key] ?? []) as JsonSchema[]) found.push(...propertiesOf(member, path));
  }
  return found;
}

describe('the pipeline input JSON Schema (trainyard schema, the Temporal UI)', () => {
  const schema = pipelineInputJsonSchema();

  it('describes every field, at every depth', () => {
    const properties = propertiesOf(schema);
    assert.ok(properties.length > 100, `walked only ${properties.length} properties`);
    assert.ok(!JSON.stringify(schema).includes('"$ref"'), 'a $ref would hide fields from this walk');
    const undescribed = properties
      .filter(({ schema: property }) => typeof property.description !== 'string' || property.description.length < 10)
      .map(({ path }) => path);
    assert.deepEqual(undescribed, [], `fields without a description: ${undescribed.join(', ')}`);
  });

  it('the walk sees the nested fields it must check', () => {
    const paths = new Set(propertiesOf(schema).map(({ path }) => path));
    for (const path of [
      'dataset.partitions.window',
      'task.label.op',
      'evaluate.slices[].minSize',
      'train.gbdt.maxBins',
    ])
      assert.ok(paths.has(path), `walk missed ${path}`);
  });
});
