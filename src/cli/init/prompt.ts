// Questions on a terminal (node:readline/promises): a default in brackets, answers checked and
// asked again until valid, secrets read without echo. Tests drive the same interface with a script.
import { createInterface } from "node:readline/promises";
import { Writable } from "node:stream";

export interface Prompter {
  /** One line; the default when the answer is empty. */
  line(question: string): Promise<string>;
  /** One line, not echoed. */
  secret(question: string): Promise<string>;
  /** Text for the operator (stdout on a terminal). */
  say(text: string): void;
  close(): void;
}

export function terminalPrompter(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout): Prompter {
  let muted = false;
  // readline echoes what is typed through its output; muting that stream hides a secret.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) output.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input, output: sink, terminal: input.isTTY });
  return {
    line: (question) => rl.question(question),
    async secret(question) {
      output.write(question);
      muted = true;
      try {
        return await rl.question("");
      } finally {
        muted = false;
        output.write("\n");
      }
    },
    say: (text) => output.write(`${text}\n`),
    close: () => rl.close(),
  };
}

/** Asks until `parse` accepts the answer (empty: the default, when there is one). */
export async function ask<T = string>(p: Prompter, question: string, options: { default?: string; parse?: (text: string) => T } = {}): Promise<T> {
  const parse = options.parse ?? ((text: string) => text as T);
  for (;;) {
    const typed = (await p.line(`${question}${options.default ? ` [${options.default}]` : ""}: `)).trim();
    const text = typed === "" ? (options.default ?? "") : typed;
    if (text === "" && options.default === undefined) {
      p.say("  an answer is needed");
      continue;
    }
    try {
      return parse(text);
    } catch (err) {
      p.say(`  ${(err as Error).message}`);
    }
  }
}

/** Asks without echo until `parse` accepts the answer; what was typed is never repeated. */
export async function askSecret(p: Prompter, question: string, parse: (text: string) => string): Promise<string> {
  for (;;) {
    try {
      return parse((await p.secret(`${question}: `)).trim());
    } catch (err) {
      p.say(`  ${(err as Error).message}`);
    }
  }
}

export async function askYes(p: Prompter, question: string, fallback: boolean): Promise<boolean> {
  return ask(p, `${question} (yes/no)`, {
    default: fallback ? "yes" : "no",
    parse: (text) => {
      if (/^y(es)?$/i.test(text)) return true;
      if (/^no?$/i.test(text)) return false;
      throw new Error("answer yes or no");
    },
  });
}

export async function askChoice<T extends string>(p: Prompter, question: string, choices: readonly T[], fallback: T): Promise<T> {
  return ask(p, `${question} (${choices.join(", ")})`, {
    default: fallback,
    parse: (text) => {
      const found = choices.find((c) => c === text.toLowerCase());
      if (!found) throw new Error(`answer one of: ${choices.join(", ")}`);
      return found;
    },
  });
}

/** A whole number of at least `min`. */
export function parseCount(min: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`a whole number of at least ${min}`);
    return n;
  };
}
