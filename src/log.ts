// The one logger: pino JSON lines, secrets redacted by key wherever they appear.
import { pino, type Logger } from "pino";

export const redactedKeys = ["token", "*.token", "jitconfig", "*.jitconfig", "authorization", "*.authorization", "headers.authorization", "privateKey", "*.privateKey"];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { pid: process.pid }, redact: { paths: redactedKeys, censor: "[redacted]" } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
