/**
 * Where one batch of predictions lives, all under `<output>/<model>/v<version>/`: a key derived from the
 * output prefix, the version and the chunk index only, so a retry (or a rerun of the same input) finds the
 * parts an earlier attempt finished and writes only the rest.
 */
export interface BatchLayout {
  /** The folder of Parquet parts (read it as a partitioned dataset: `<uri of partsPrefix>/`). */
  partsPrefix: string;
  part(chunk: number): string;
  /** What the parts were computed from; guards the folder against a different input. */
  input: string;
  summary: string;
  /** Beside the summary: how a shadow version's predictions of the same input compare with these. */
  comparison(shadowModel: string, shadowVersion: number): string;
  /** The summary as an HTML page, written before summary.json. */
  summaryPage: string;
}

export function batchLayout(outputPrefix: string, model: string, version: number): BatchLayout {
  const base = `${outputPrefix.replace(/\/+$/, '')}/${model}/v${version}`;
  const partsPrefix = `${base}/parts`;
  return {
    partsPrefix,
    part: (chunk) => `${partsPrefix}/part-${String(chunk).padStart(6, '0')}.parquet`,
    input: `${base}/input.json`,
    summary: `${base}/summary.json`,
    comparison: (shadowModel, shadowVersion) => `${base}/comparison-${shadowModel}-v${shadowVersion}.json`,
    summaryPage: `${base}/summary.html`,
  };
}
