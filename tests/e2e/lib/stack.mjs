// The demo stack for browser tests: the action services and the frontend as
// child processes on ephemeral 127.0.0.1 ports, a frontend config generated
// from services/demo/demo.yaml, and cleanup that also runs when a test fails
// or the test process is killed.
//
// Every child runs in its own process group (detached), so stopping it also
// stops anything it started. Every wait has a bound.
//
// Environment:
//   SSEBRIDGE_BUILD_DIR  the CMake build dir with the binaries and web/ (required)
//   SSEBRIDGE_E2E_PIDFILE  append each child's pid (= its process group) here
//   SSEBRIDGE_E2E_KEEP=1 keep the temp dir (configs, edge files) after the run
// Process logs go to tests/e2e/artifacts/logs/.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SOURCE_DIR = path.resolve(E2E_DIR, "../..");
export const ARTIFACTS_DIR = path.join(E2E_DIR, "artifacts");

export function buildDir() {
  const dir = process.env.SSEBRIDGE_BUILD_DIR;
  if (!dir) throw new Error("SSEBRIDGE_BUILD_DIR is not set (the CMake build directory)");
  return path.resolve(dir);
}

export const BINARIES = {
  frontend: "frontend/ssebridge-frontend",
  chat_bot: "services/chat_bot/chat_bot",
  notifications: "services/notifications/notifications",
  monitoring: "services/monitoring/monitoring",
  keygen: "frontend/auth/ssebridge-keygen",
};

export function binary(name) {
  const file = path.join(buildDir(), BINARIES[name]);
  if (!fs.existsSync(file)) throw new Error(`${name} binary missing: ${file} (build target ${path.basename(file)})`);
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` until it returns a truthy value; throws after `timeoutMs`.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? ` (last error: ${last.message})` : ""));
    }
    await sleep(intervalMs);
  }
}

// A free TCP port on 127.0.0.1: bind port 0, read it, close. Another process
// can take it before the caller binds it, so callers retry on "in use".
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------ child processes

const live = new Set();  // Proc objects still running
const tempDirs = new Set();  // removed at exit

// A new directory under the temp dir, removed when the process exits (also
// on a failure or SIGTERM) unless SSEBRIDGE_E2E_KEEP=1.
export function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  tempDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function killAllNow() {
  for (const p of live) {
    try { process.kill(-p.child.pid, "SIGKILL"); } catch { /* gone */ }
  }
  live.clear();
  if (process.env.SSEBRIDGE_E2E_KEEP !== "1") {
    for (const dir of tempDirs) {
      try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  }
}
process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    killAllNow();
    process.exit(128 + (os.constants.signals[sig] || 1));
  });
}

export class Proc {
  constructor(name, file, args, logDir, env = {}) {
    this.name = name;
    this.file = file;
    this.args = args;
    this.output = "";
    this.logFile = path.join(logDir, `${name}.log`);
    const log = fs.openSync(this.logFile, "a");
    fs.writeSync(log, `# ${new Date().toISOString()} ${file} ${args.join(" ")}\n`);
    this.child = spawn(file, args, {
      detached: true,  // own process group: stop() signals the whole group
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    live.add(this);
    // run_e2e.sh kills what is left of these groups should this process be
    // killed without a chance to clean up (SIGKILL).
    if (process.env.SSEBRIDGE_E2E_PIDFILE && this.child.pid) {
      fs.appendFileSync(process.env.SSEBRIDGE_E2E_PIDFILE, `${this.child.pid}\n`);
    }
    const onData = (chunk) => {
      this.output += chunk.toString();
      fs.writeSync(log, chunk);
      this._wake();
    };
    this.child.stdout.on("data", onData);
    this.child.stderr.on("data", onData);
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        try { fs.closeSync(log); } catch { /* closed */ }
        this._wake();
        resolve({ code, signal });
      });
      this.child.on("error", (e) => {
        this.output += `spawn error: ${e.message}\n`;
        live.delete(this);
        this.exitCode = -1;
        this._wake();
        resolve({ code: -1, signal: null });
      });
    });
    this._waiters = [];
  }

  get running() { return this.exitCode === undefined; }

  _wake() { for (const w of this._waiters.splice(0)) w(); }

  // Resolves with the first match of `re` in the output; rejects if the
  // process exits first or after `timeoutMs`.
  async waitForOutput(re, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (!this.running) {
        throw new Error(`${this.name} exited (code ${this.exitCode}, signal ${this.exitSignal}) before printing ${re}:\n${tail(this.output)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not print ${re} within ${timeoutMs} ms:\n${tail(this.output)}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this._waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  // SIGTERM (or `signal`) to the process group; SIGKILL after `graceMs`.
  async stop(signal = "SIGTERM", graceMs = 6000) {
    if (!this.running) return this.exited;
    try { process.kill(-this.child.pid, signal); } catch { /* gone */ }
    const timer = setTimeout(() => {
      try { process.kill(-this.child.pid, "SIGKILL"); } catch { /* gone */ }
    }, graceMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

function tail(text, lines = 20) {
  return text.trimEnd().split("\n").slice(-lines).map((l) => "    " + l).join("\n");
}

// ------------------------------------------------------------------- stack

// The demo's services with their demo flags; the listen address is added.
const SERVICE_ARGS = {
  chat_bot: [],
  notifications: ["--demo_interval=3s"],
  monitoring: [],
};

// Starts a service on an ephemeral port. The services accept port 0 and log
// "serving ... on port P" once they accept calls (run_demo.sh waits
// for the same line), so there is no window in which another process could
// take a port we picked.
// `args` replaces the demo's flags for the service.
export async function startService(name, logDir, args = SERVICE_ARGS[name] || []) {
  args = [...args, "--listen=127.0.0.1:0"];
  const proc = new Proc(name, binary(name), args, logDir);
  const m = await proc.waitForOutput(/serving .* on port (\d+)/, 15000);
  proc.port = Number(m[1]);
  return proc;
}

// The frontend config: services/demo/demo.yaml with the given backend ports,
// only the routes of those backends, listen port 0 and `staticRoot`.
// `keyDir`: where the dev login's key pair is (demo.yaml's build/demo-keys).
export function makeConfig(ports, staticRoot, overrides = {}, keyDir = null) {
  const demo = YAML.parse(fs.readFileSync(path.join(SOURCE_DIR, "services/demo/demo.yaml"), "utf8"));
  if (demo.auth && keyDir) {
    const rekey = (f) => f.replace(/^build\/demo-keys\//, keyDir + "/");
    for (const p of demo.auth.providers || []) p.jwks_file = rekey(p.jwks_file);
    if (demo.auth.dev_login) demo.auth.dev_login.signing_key_file = rekey(demo.auth.dev_login.signing_key_file);
  }
  demo.listen = { ...demo.listen, address: "127.0.0.1", port: 0 };
  demo.backends = demo.backends
    .filter((b) => b.name in ports)
    .map((b) => ({ ...b, target: `127.0.0.1:${ports[b.name]}` }));
  demo.routes = demo.routes.filter((r) => r.backend in ports);
  demo.static_root = staticRoot;
  return { ...demo, ...overrides };
}

let stacks = 0;

export class Stack {
  // services: names from BINARIES (not "frontend"); serviceArgs: flags per
  // service instead of the demo's (run_demo.sh); staticRoot: the site (default: <build>/web).
  constructor({ services, serviceArgs = {}, staticRoot, configOverrides = {} }) {
    this.serviceNames = services;
    this.serviceArgs = serviceArgs;
    this.staticRoot = staticRoot || path.join(buildDir(), "web");
    this.configOverrides = configOverrides;
    this.services = {};
    this.tmp = makeTempDir("ssebridge-e2e-");
    // Logs stay after the run (artifacts/ is gitignored; run_e2e.sh clears
    // artifacts/logs first): one directory per test file and stack.
    const file = path.basename(process.argv[1] || "stack").replace(/\.test\.mjs$/, "");
    this.logDir = path.join(ARTIFACTS_DIR, "logs", `${file}-${process.pid}-${++stacks}`);
    fs.mkdirSync(this.logDir, { recursive: true });
    this.frontendStarts = 0;
    this.frontends = [];  // every frontend started, for stop()
  }

  async start() {
    if (!fs.existsSync(path.join(this.staticRoot, "vendor/htmx.min.js"))) {
      throw new Error(`site not built in ${this.staticRoot} (make -C frontend/web OUT=${this.staticRoot})`);
    }
    for (const name of this.serviceNames) {
      this.services[name] = await startService(name, this.logDir, this.serviceArgs[name]);
    }
    const ports = Object.fromEntries(Object.entries(this.services).map(([n, p]) => [n, p.port]));
    // The dev login's key pair, made for this stack.
    const keyDir = path.join(this.tmp, "keys");
    fs.mkdirSync(keyDir, { recursive: true });
    const kg = spawnSync(binary("keygen"), [`--private_jwk=${keyDir}/signing-key.jwk`,
                                           `--public_jwks=${keyDir}/jwks.json`], { encoding: "utf8" });
    if (kg.status !== 0) throw new Error(`ssebridge-keygen failed: ${kg.stderr || kg.error}`);
    this.configFile = path.join(this.logDir, "frontend.yaml");
    fs.writeFileSync(this.configFile, YAML.stringify(makeConfig(ports, this.staticRoot, this.configOverrides, keyDir)));
    await this.startFrontend(0);
    await this.waitReady();
    return this;
  }

  // Starts the stack's frontend on `port` (0 = ephemeral); see
  // launchFrontend. It becomes this.frontend / this.port / this.base.
  async startFrontend(port = 0, timeoutMs = 15000) {
    const f = await this.launchFrontend(port, timeoutMs);
    this.frontend = f.proc;
    this.port = f.port;
    this.base = f.base;
    return f.proc;
  }

  // Starts one more frontend process with the same config (the caller stops
  // it, or stop() does). A fixed port (a restart) is retried while the old
  // socket is still being released.
  async launchFrontend(port = 0, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const proc = new Proc(`frontend-${++this.frontendStarts}`, binary("frontend"),
                            ["--config", this.configFile, "--port", String(port)], this.logDir);
      this.frontends.push(proc);
      try {
        const m = await proc.waitForOutput(/listening on http:\/\/([^:/\s]+):(\d+)\//, Math.max(1000, deadline - Date.now()));
        return { proc, port: Number(m[2]), base: `http://127.0.0.1:${m[2]}` };
      } catch (e) {
        await proc.stop("SIGKILL");
        if (port !== 0 && /in use|cannot listen/i.test(proc.output) && Date.now() < deadline) {
          await sleep(100);
          continue;
        }
        throw e;
      }
    }
  }

  async waitReady(timeoutMs = 15000) {
    try {
      await waitFor(async () => (await fetch(this.base + "/readyz")).status === 200,
                    { timeoutMs, intervalMs: 100, what: `${this.base}/readyz to answer 200` });
    } catch (e) {
      e.message += "\n" + this.logs();
      throw e;
    }
  }

  // The frontend's /metrics, parsed: [{name, labels:{...}, value}].
  async metrics() {
    const text = await (await fetch(this.base + "/metrics")).text();
    return parseMetrics(text);
  }

  // Sum of a metric's samples whose labels include `match`.
  async metricSum(name, match = {}) {
    return (await this.metrics())
      .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
      .reduce((a, s) => a + s.value, 0);
  }

  async stop() {
    const procs = [...this.frontends, ...Object.values(this.services)];
    await Promise.all(procs.map((p) => p.stop()));
    if (process.env.SSEBRIDGE_E2E_KEEP === "1") {
      console.log(`# e2e: temp files kept in ${this.tmp}`);
    } else {
      removeTempDir(this.tmp);
    }
  }

  // The last lines of every log, for failure messages.
  logs(lines = 15) {
    return [...this.frontends, ...Object.values(this.services)]
      .map((p) => `--- ${p.name} (${p.logFile})\n${tail(p.output, lines)}`).join("\n");
  }
}

export function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// Runs a program to completion (bounded); throws with its output on failure.
export function run(file, args, { timeoutMs = 30000, cwd } = {}) {
  const r = spawnSync(file, args, { cwd, timeout: timeoutMs, encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(`${file} ${args.join(" ")} failed (${r.error ? r.error.message : "status " + r.status}):\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

// Signs `user` in through the frontend's development login (as the login
// form does, from the frontend's own origin); returns the token.
export async function devLogin(base, user) {
  const r = await fetch(base + "/auth/dev-login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
    body: new URLSearchParams({ name: user }),
    redirect: "manual",
    signal: AbortSignal.timeout(5000),
  });
  const m = (r.headers.get("set-cookie") || "").match(/ssebridge_token=([^;]+)/);
  if (r.status !== 303 || !m) throw new Error(`dev login of ${user}: status ${r.status}`);
  return m[1];
}
