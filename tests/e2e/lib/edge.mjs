// The HTTP/2 + TLS nginx edge in front of a frontend, on loopback.
//
// Runs the deployment's own edge: docker/edge-entrypoint.sh rendering
// docker/nginx.conf.template (as tests/deploy/edge_test.cc does), with a
// self-signed certificate made here with openssl, ports picked free (retried
// if taken meanwhile), one nginx process (master_process off) and everything
// in a temp dir. Only if those docker files are absent (or
// SSEBRIDGE_E2E_EDGE_FALLBACK=1) does it fall back to the minimal config
// below with the same proxy settings.
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { Proc, SOURCE_DIR, freePort, run, sleep } from "./stack.mjs";

const ENTRYPOINT = path.join(SOURCE_DIR, "docker/edge-entrypoint.sh");
const TEMPLATE = path.join(SOURCE_DIR, "docker/nginx.conf.template");

export function findProgram(name) {
  for (const dir of (process.env.PATH || "").split(":").concat(["/usr/sbin", "/sbin"])) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch { /* next */ }
  }
  return null;
}

// Why the edge cannot run here, or "" if it can.
export function edgeMissing() {
  const missing = ["nginx", "openssl"].filter((p) => !findProgram(p));
  if (fs.existsSync(ENTRYPOINT) && !findProgram("envsubst")) missing.push("envsubst (gettext-base)");
  return missing.length ? `not installed: ${missing.join(", ")} (apt-get install nginx openssl gettext-base)` : "";
}

function fallbackConfig({ dir, httpsPort, upstream, cert, key }) {
  return `
worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid && process.getuid() === 0 ? "user root root;" : ""}
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  access_log ${dir}/access.log;
  upstream frontend { server ${upstream}; keepalive 32; }
  server {
    listen 127.0.0.1:${httpsPort} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    location / {
      proxy_pass http://frontend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
}

function healthz(base) {
  return new Promise((resolve) => {
    const req = https.get(base + "/healthz", { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => { req.destroy(); resolve(false); });
  });
}

// Starts the edge proxying to 127.0.0.1:`upstreamPort`; its files go to
// `tmp`, its output to `logDir`. Returns { proc, base, config } (config:
// which nginx config is used).
export async function startEdge(upstreamPort, tmp, logDir = tmp) {
  const nginx = findProgram("nginx");
  const certs = path.join(tmp, "certs");
  fs.mkdirSync(certs, { recursive: true });
  const cert = path.join(certs, "tls.crt");
  const key = path.join(certs, "tls.key");
  run(findProgram("openssl"), ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", key, "-out", cert]);
  const useDocker = fs.existsSync(ENTRYPOINT) && fs.existsSync(TEMPLATE) &&
                    process.env.SSEBRIDGE_E2E_EDGE_FALLBACK !== "1";
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const [httpsPort, httpPort] = [await freePort(), await freePort()];
    const dir = path.join(tmp, `edge-${attempt}`);
    fs.mkdirSync(dir, { recursive: true });
    let proc;
    if (useDocker) {
      proc = new Proc(`edge-${attempt}`, "/bin/sh", [ENTRYPOINT], logDir, {
        EDGE_LISTEN_ADDR: "127.0.0.1",
        EDGE_HTTP_PORT: String(httpPort),
        EDGE_HTTPS_PORT: String(httpsPort),
        FRONTEND_UPSTREAM: `127.0.0.1:${upstreamPort}`,
        TLS_CERT: cert,
        TLS_KEY: key,
        NGINX_RUNTIME_DIR: dir,
        NGINX_ERROR_LOG: path.join(dir, "error.log"),
        NGINX_ACCESS_LOG: path.join(logDir, `edge-${attempt}-access.log`),
        // One process: it dies with its process group.
        NGINX_MASTER_PROCESS: "off",
        NGINX_WORKERS: "1",
        NGINX_TEMPLATE: TEMPLATE,
        NGINX_BIN: nginx,
      });
    } else {
      const conf = path.join(dir, "nginx.conf");
      fs.writeFileSync(conf, fallbackConfig({ dir, httpsPort, upstream: `127.0.0.1:${upstreamPort}`, cert, key }));
      proc = new Proc(`edge-${attempt}`, nginx, ["-p", dir, "-e", path.join(dir, "error.log"), "-c", conf], logDir);
    }
    const base = `https://127.0.0.1:${httpsPort}`;
    const deadline = Date.now() + 15000;
    while (proc.running && Date.now() < deadline) {
      if (await healthz(base)) {
        return { proc, base, config: useDocker ? "docker/nginx.conf.template via docker/edge-entrypoint.sh" : "tests/e2e fallback config" };
      }
      await sleep(100);
    }
    await proc.stop("SIGKILL");
    let errorLog = "";
    try { errorLog = fs.readFileSync(path.join(dir, "error.log"), "utf8"); } catch { /* none */ }
    lastError = `edge did not come up (attempt ${attempt + 1}):\n${proc.output}\n${errorLog}`;
    if (!/in use/i.test(proc.output + errorLog)) break;  // only a taken port is worth a retry
  }
  throw new Error(lastError);
}
