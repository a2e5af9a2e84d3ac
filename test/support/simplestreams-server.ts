// A simplestreams image server on loopback, for tests that build from a remote source: LXD and
// Incus download a unified image tarball from it exactly as they would from cloud-images.ubuntu.com
// or images.linuxcontainers.org. Test-only code (never imported by src/).
//
// What LXD 5.0.2 and Incus 6.0.4 require of it, from their sources (canonical/lxd tag lxd-5.0.2,
// lxc/incus tag v6.0.4):
// - Layout: `streams/v1/index.json` first (`shared/simplestreams/simplestreams.go`, parseStream),
//   whose `index` entries with `datatype: "image-downloads"` and a non-empty `products` list name
//   the products file by `path` (getImages, GetFiles); `index.go` and `products.go` give the fields.
// - A product needs an `arch` the daemon knows (`osarch.ArchitectureId`, e.g. "amd64"), and each
//   version key must begin with a date, "20060102" (`products.go`, ToLXD / ToAPI); `aliases` is a
//   comma-separated list, and each alias is also published as ALIAS/ARCH (applyAliases).
// - Items: LXD reads `lxd_combined.tar.gz` (a unified tarball) or `lxd.tar.xz` + a rootfs; Incus
//   6.0.4 reads only `incus_combined.tar.gz` or `incus.tar.xz` + a rootfs (`products.go`). A
//   unified image's fingerprint is its item's `sha256`; for split images it is the item's
//   `combined_*_sha256` field. One version may carry both, so one server serves both backends.
// - Every file is checked against its item's `sha256` as it downloads (`client/simplestreams_images.go`
//   GetImageFile -> `shared.DownloadFileHash`). Both daemons first try the file over plain
//   `http://` on the server's host and port, then over the server URL, so an HTTPS-only port
//   simply costs a failed first attempt.
// - HTTPS is not required by the code (`ConnectSimpleStreams` takes any URL; `client/util.go`
//   tlsHTTPClient), though LXD's documentation says only HTTPS is supported. For HTTPS the
//   daemon trusts the system roots plus the source's `certificate` (PEM): `shared/network.go`
//   (LXD) and `shared/tls/tls.go` (Incus) finalizeTLSConfig add it as a root CA and set the
//   server name to its first DNS name, so a self-signed certificate for "localhost" works.
// - The daemon caches index.json and the products file for an hour under a hash of the URL
//   (`client/connection.go` ConnectSimpleStreams, CachePath): each test server takes a fresh port.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ServedImage {
  /** Published as ALIAS and ALIAS/ARCH. */
  alias: string;
  /** A unified image tarball (metadata.yaml, rootfs/, templates/). */
  file: string;
  /** sha256 of the file: the image's fingerprint. */
  fingerprint: string;
  size: number;
  /** Debian's name for the architecture, e.g. amd64. */
  arch: string;
  os: string;
  release: string;
}

export interface SimplestreamsServer {
  url: string;
  /** The server's certificate (PEM), for the image source's `certificate` field; HTTPS only. */
  certificate?: string;
  /** Requests in arrival order. */
  readonly requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

/** This machine's architecture as simplestreams names it. */
export function debianArch(): string {
  return process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : process.arch;
}

/** `streams/v1/index.json`: one image-downloads index pointing at `streams/v1/images.json`. */
export function streamsIndex(images: readonly ServedImage[]): unknown {
  return {
    format: "index:1.0",
    index: {
      images: { datatype: "image-downloads", path: "streams/v1/images.json", format: "products:1.0", products: images.map(productKey) },
    },
  };
}

/** `streams/v1/images.json`: each image as a product with one version holding LXD's and Incus's unified item. */
export function streamsProducts(images: readonly ServedImage[], serial = versionSerial(new Date())): unknown {
  const products: Record<string, unknown> = {};
  for (const image of images) {
    const item = (ftype: string) => ({ ftype, path: imagePath(image), sha256: image.fingerprint, size: image.size });
    products[productKey(image)] = {
      aliases: image.alias,
      arch: image.arch,
      os: image.os,
      release: image.release,
      release_title: image.release,
      versions: { [serial]: { items: { "lxd_combined.tar.gz": item("lxd_combined.tar.gz"), "incus_combined.tar.gz": item("incus_combined.tar.gz") } } },
    };
  }
  return { content_id: "images", datatype: "image-downloads", format: "products:1.0", products };
}

function productKey(image: ServedImage): string {
  return `${image.alias.replace(/\//g, ":")}:${image.arch}`;
}

function imagePath(image: ServedImage): string {
  return `images/${image.fingerprint}.tar.gz`;
}

/** "20261206_0105": the date first, as the daemons parse it. */
function versionSerial(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 13);
}

/**
 * A copy of a gzip'd unified tarball with another fingerprint and the same content: the gzip
 * header's MTIME (bytes 4-7, covered by no checksum) is set to `stamp`. The daemon then has to
 * download it, since no local image has that fingerprint.
 */
export function restampedCopy(source: string, target: string, stamp: number): { fingerprint: string; size: number } {
  const data = readFileSync(source);
  if (data[0] !== 0x1f || data[1] !== 0x8b) throw new Error(`${source} is not gzip-compressed`);
  data.writeUInt32LE(stamp >>> 0, 4);
  writeFileSync(target, data);
  return { fingerprint: createHash("sha256").update(data).digest("hex"), size: statSync(target).size };
}

/** A self-signed certificate for localhost and 127.0.0.1 (openssl), valid a day. */
export async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=runnerd-test-simplestreams",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

/** Serves the images on 127.0.0.1 (any free port); over HTTPS when `tls` is given. */
export async function startSimplestreamsServer(images: readonly ServedImage[], tls?: { cert: string; key: string }): Promise<SimplestreamsServer> {
  const requests: SimplestreamsServer["requests"] = [];
  const files = new Map(images.map((image) => [`/${imagePath(image)}`, image]));
  const json: Record<string, string> = {
    "/streams/v1/index.json": JSON.stringify(streamsIndex(images)),
    "/streams/v1/images.json": JSON.stringify(streamsProducts(images)),
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? "/", "http://x").pathname.replace(/\/{2,}/g, "/");
    const answer = (status: number): void => void requests.push({ method: req.method ?? "", path, status });
    if (req.method !== "GET" && req.method !== "HEAD") {
      answer(405);
      res.writeHead(405).end();
      return;
    }
    const body = json[path];
    const image = files.get(path);
    if (body !== undefined) {
      answer(200);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(req.method === "HEAD" ? undefined : body);
    } else if (image) {
      answer(200);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": image.size });
      if (req.method === "HEAD") res.end();
      else createReadStream(image.file).pipe(res);
    } else {
      answer(404);
      res.writeHead(404).end();
    }
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handle) : createHttpServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    ...(tls ? { certificate: tls.cert } : {}),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
