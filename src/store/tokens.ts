// Registration tokens pushed for a scope (push credential mode), keyed by scopeKey().
import type { Database } from "better-sqlite3";

/** What may be shown about a token: deliberately no field for the secret itself. */
export interface TokenInfo {
  scope: string;
  expiresAt: Date;
  updatedAt: Date;
  /** Who pushed it, e.g. "ssh", "https:owner/repo/.github/workflows/token.yml". */
  source: string;
}

export interface TokenRecord extends TokenInfo {
  token: string;
}

export interface TokenTable {
  /** Replaces any token held for the scope. */
  setToken(scopeKey: string, token: string, expiresAt: Date, source: string): void;
  getToken(scopeKey: string): TokenRecord | null;
  /** Every scope with a token, without the token values. */
  listTokens(): TokenInfo[];
  /** True when a token was held. */
  deleteToken(scopeKey: string): boolean;
}

interface TokenRow {
  scope: string;
  token: string;
  expires_at: number;
  updated_at: number;
  source: string;
}

function toInfo(row: Omit<TokenRow, "token">): TokenInfo {
  return { scope: row.scope, expiresAt: new Date(row.expires_at), updatedAt: new Date(row.updated_at), source: row.source };
}

export function createTokenTable(db: Database, now: () => Date): TokenTable {
  const upsert = db.prepare(
    `INSERT INTO tokens (scope, token, expires_at, updated_at, source) VALUES (@scope, @token, @expiresAt, @updatedAt, @source)
     ON CONFLICT (scope) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at,
       updated_at = excluded.updated_at, source = excluded.source`,
  );
  const selectOne = db.prepare("SELECT scope, token, expires_at, updated_at, source FROM tokens WHERE scope = ?");
  // The listing never selects the token column, so no caller of listTokens can print it.
  const selectAll = db.prepare("SELECT scope, expires_at, updated_at, source FROM tokens ORDER BY scope");
  const remove = db.prepare("DELETE FROM tokens WHERE scope = ?");

  return {
    setToken(scopeKey, token, expiresAt, source) {
      if (scopeKey === "" || token === "") throw new Error("set token: scope and token must not be empty");
      if (Number.isNaN(expiresAt.getTime())) throw new Error(`set token for ${scopeKey}: invalid expiry date`);
      upsert.run({ scope: scopeKey, token, expiresAt: expiresAt.getTime(), updatedAt: now().getTime(), source });
    },
    getToken(scopeKey) {
      const row = selectOne.get(scopeKey) as TokenRow | undefined;
      return row ? { ...toInfo(row), token: row.token } : null;
    },
    listTokens() {
      return (selectAll.all() as Omit<TokenRow, "token">[]).map(toInfo);
    },
    deleteToken(scopeKey) {
      return remove.run(scopeKey).changes > 0;
    },
  };
}
