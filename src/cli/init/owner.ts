// Who owns what init writes: the secret files belong to the user runnerd runs as (it refuses
// secrets owned by anyone else), the config to root with runnerd's group (0640), as the package's
// postinst sets it. Only root can give files away; anyone else writes files of their own.
import { userInfo } from "node:os";
import { UsageError } from "../../errors.js";
import { lookupGroup, lookupUser, type Owner } from "./files.js";

export interface Owners {
  /** The user runnerd runs as: owner of the secrets, and whom the child commands run as. */
  user: string;
  /** undefined: files stay the writing process's own. */
  secrets: Owner | undefined;
  config: Owner | undefined;
  /** The uid runnerd's secret checks expect. */
  uid: number;
}

export function resolveOwners(requested: string | undefined, euid: number = process.geteuid?.() ?? 0): Owners {
  if (euid !== 0) {
    const me = userInfo().username;
    if (requested !== undefined && requested !== me) throw new UsageError(`--user ${requested}: only root can write files owned by another user; run init as root, or leave --user out (runnerd then runs as ${me})`);
    return { user: me, secrets: undefined, config: undefined, uid: euid };
  }
  const user = requested ?? "runnerd";
  const found = user === "root" ? { uid: 0, gid: 0 } : lookupUser(user);
  if (!found) {
    throw new UsageError(`--user ${user}: no such user; install the runnerd package (it creates the user), or create it (useradd --system --home /var/lib/runnerd --groups lxd runnerd), or give --user root to run runnerd as root`);
  }
  return { user, secrets: found, config: { uid: 0, gid: lookupGroup(user) ?? found.gid }, uid: found.uid };
}
