import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log record. */
export const REDACTED_PATHS = [
  'secretKey',
  'accessKey',
  '*.secretKey',
  '*.accessKey',
  '*.*.secretKey',
  '*.*.accessKey',
  'password',
  '*.password',
  'S3_SECRET_KEY',
  'S3_ACCESS_KEY',
  '*.S3_SECRET_KEY',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty' | 'auto';
  name?: string;
  /** Where JSON lines go; defaults to stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const base = {
    name: options.name ?? 'trainyard',
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (options.destination) return pino(base, options.destination);
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino(base);
}
