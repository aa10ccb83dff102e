#!/usr/bin/python3
"""python_quotes: an sse-bridge action service written in Python.

It shows that a service in any language with gRPC only has to implement
ssebridge.action.v1.ActionService.Run (protos/ssebridge/action/v1/action.proto):
stream Event messages, end the call OK. The frontend does all of HTTP/SSE.

Action `quotes` (params: n = how many, default 5; interval_ms = pause before
each one after the first, default 500) streams `quote` events with an HTML
fragment each and ids 0, 1, 2, ...; then the call ends OK, so the frontend sends
its terminal `done` event. A browser that reconnects with Last-Event-ID k gets
the quotes after k. Any other action is UNIMPLEMENTED.

Who is asking: on a route with authentication the frontend passes the verified
identity as gRPC metadata, read here with context.invocation_metadata():
`x-ssebridge-sub` (the token's subject) and `x-ssebridge-claim-<claim>` (e.g.
`x-ssebridge-claim-name`). It strips client-sent `x-ssebridge-*` headers, so
these keys are the only identity to trust; never a header or param naming a
user. When a subject is present, the first quote this call sends (also the
first after a Last-Event-ID resume) starts with a greeting inside its figure:
<p class="quote-greeting">Hello, NAME!</p>, NAME being the `name` claim if
present, else the subject, cut to 64 characters and HTML-escaped. No extra
event, so ids, counts and the page's sse-swap="quote" stay as they are.
Anonymous calls get no greeting.
A metadata key sent more than once counts as absent, as in the C++ SDK.

Uses only Debian's python3-grpcio and python3-grpc-tools. The Python code for
the protos is generated at start-up with grpc_tools.protoc into a temporary
directory (or --gen_dir), never committed. grpc.health.v1 is served as well
(Debian has no grpcio-health-checking package, so the standard health proto is
compiled here too: from the repo's protos/grpc/health/v1/health.proto when it
exists, else from the same well-known definition written out below), so the
frontend's /readyz sees this backend like the C++ ones.

Run: /usr/bin/python3 services/python_quotes/quotes_server.py --listen 127.0.0.1:50054
It prints one line "listening on HOST:PORT" once it accepts calls (with
--listen HOST:0 that tells the chosen port).
"""

import argparse
import html
import importlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import urllib.parse
from concurrent import futures

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "protos"))
ACTION_PROTO = "ssebridge/action/v1/action.proto"
HEALTH_PROTO = "grpc/health/v1/health.proto"
HEALTH_MODULE_PROTO = "quotes_health/health.proto"

# The standard gRPC health-checking protocol (grpc/grpc doc/health-checking.md),
# used only when the repo does not carry the file.
HEALTH_PROTO_TEXT = """syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
"""

MAX_QUOTES = 1000
MAX_INTERVAL_MS = 60_000

QUOTES = [
    ("Programs must be written for people to read, and only incidentally for "
     "machines to execute.", "Harold Abelson & Gerald Jay Sussman"),
    ("Simplicity is prerequisite for reliability.", "Edsger W. Dijkstra"),
    ("The most effective debugging tool is still careful thought, coupled "
     "with judiciously placed print statements.", "Brian Kernighan"),
    ("Premature optimization is the root of all evil.", "Donald Knuth"),
    ("Make it work, make it right, make it fast.", "Kent Beck"),
    ("Talk is cheap. Show me the code.", "Linus Torvalds"),
    ("There are two ways of constructing a software design: one way is to "
     "make it so simple that there are obviously no deficiencies, and the "
     "other way is to make it so complicated that there are no obvious "
     "deficiencies.", "C. A. R. Hoare"),
    ("Controlling complexity is the essence of computer programming.",
     "Brian Kernighan"),
    ("The cheapest, fastest, and most reliable components are those that "
     "aren't there.", "Gordon Bell"),
    ("Data dominates. If you've chosen the right data structures, the "
     "algorithms will almost always be self-evident.", "Rob Pike"),
    ("A language that doesn't affect the way you think about programming is "
     "not worth knowing.", "Alan Perlis"),
    ("Simple things should be simple, complex things should be possible.",
     "Alan Kay"),
    ("Deleted code is debugged code.", "Jeff Sickel"),
    ("If it hurts, do it more often.", "Martin Fowler"),
    ("Everyone knows that debugging is twice as hard as writing a program in "
     "the first place.", "Brian Kernighan"),
    ("The best way to predict the future is to invent it.", "Alan Kay"),
    ("Measure. Don't tune for speed until you've measured.", "Rob Pike"),
    ("Walking on water and developing software from a specification are "
     "easy if both are frozen.", "Edward V. Berard"),
]


def generate_code(proto_root, gen_dir):
    """Compiles the action and health protos into gen_dir (importable).

    The health proto is compiled as quotes_health/health.proto: its Python
    module may not live under grpc/, which is grpcio's own package.
    """
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    health_root = os.path.join(gen_dir, "_protos")
    health_file = os.path.join(health_root, HEALTH_MODULE_PROTO)
    os.makedirs(os.path.dirname(health_file), exist_ok=True)
    repo_health = os.path.join(proto_root, HEALTH_PROTO)
    if os.path.exists(repo_health):
        shutil.copyfile(repo_health, health_file)
    else:
        with open(health_file, "w") as f:
            f.write(HEALTH_PROTO_TEXT)
    for root, proto in ((proto_root, ACTION_PROTO),
                        (health_root, HEALTH_MODULE_PROTO)):
        rc = protoc.main([
            "grpc_tools.protoc", "-I" + root, "-I" + include,
            "--python_out=" + gen_dir, "--grpc_python_out=" + gen_dir,
            os.path.join(root, proto)])
        if rc != 0:
            raise RuntimeError("grpc_tools.protoc failed on %s (exit %d)"
                               % (proto, rc))
    if gen_dir not in sys.path:
        sys.path.insert(0, gen_dir)
    importlib.invalidate_caches()


def parse_int(params, name, default, lo, hi):
    raw = params.get(name, "")
    if raw == "":
        return default, None
    try:
        value = int(raw)
    except ValueError:
        return None, "%s must be an integer, got %r" % (name, raw[:40])
    if not lo <= value <= hi:
        return None, "%s must be in [%d, %d]" % (name, lo, hi)
    return value, None


SUBJECT_KEY = "x-ssebridge-sub"
CLAIM_PREFIX = "x-ssebridge-claim-"


def verified_metadata(context):
    """The call's metadata as a dict; a key sent more than once is left out
    (which of two subjects would be the right one? neither)."""
    seen, repeated = {}, set()
    for key, value in context.invocation_metadata() or ():
        key = key.lower()
        if key.startswith("x-ssebridge-"):
            # Percent-encoded by the frontend where not printable ASCII.
            value = urllib.parse.unquote(value, errors="replace")
        if key in seen:
            repeated.add(key)
        seen[key] = value
    for key in repeated:
        del seen[key]
    return seen


def greeting_name(metadata):
    """Whom to greet: the verified `name` claim, else the subject; None when
    the call is anonymous."""
    subject = metadata.get(SUBJECT_KEY, "")
    if not subject:
        return None
    return metadata.get(CLAIM_PREFIX + "name", "") or subject


def render_quote(index, greet=None):
    text, author = QUOTES[index % len(QUOTES)]
    greeting = ""
    if greet is not None:
        greeting = ('<p class="quote-greeting">Hello, %s!</p>'
                    % html.escape(greet[:64]))
    return ('<figure class="quote">%s<blockquote>%s</blockquote>'
            '<figcaption><span class="quote-num">#%d</span> %s</figcaption>'
            '</figure>' % (greeting, html.escape(text), index + 1,
                           html.escape(author)))


def make_servicer(action_pb2, action_grpc):
    class ActionService(action_grpc.ActionServiceServicer):
        def Run(self, request, context):
            if request.action != "quotes":
                context.abort(grpc.StatusCode.UNIMPLEMENTED,
                              "unknown action %r" % request.action[:80])
            n, err = parse_int(request.params, "n", 5, 0, MAX_QUOTES)
            if err is None:
                interval_ms, err = parse_int(request.params, "interval_ms", 500,
                                             0, MAX_INTERVAL_MS)
            if err is not None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, err)
            start = 0
            if request.last_event_id.isdigit():
                start = int(request.last_event_id) + 1
            greet = greeting_name(verified_metadata(context))
            # Wakes the pause below at once when the browser goes away.
            gone = threading.Event()
            context.add_callback(gone.set)
            for i in range(start, n):
                if i > start and interval_ms and gone.wait(interval_ms / 1000):
                    return
                if not context.is_active():
                    return
                yield action_pb2.Event(
                    event="quote", id=str(i),
                    html=render_quote(i, greet if i == start else None))
    return ActionService()


def make_health(health_pb2, health_grpc):
    SERVING = health_pb2.HealthCheckResponse.SERVING

    class Health(health_grpc.HealthServicer):
        def Check(self, request, context):
            if request.service not in ("", "ssebridge.action.v1.ActionService"):
                context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
            return health_pb2.HealthCheckResponse(status=SERVING)

        def Watch(self, request, context):
            yield health_pb2.HealthCheckResponse(status=SERVING)
            done = threading.Event()
            context.add_callback(done.set)
            done.wait()
    return Health()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:50054",
                    help="HOST:PORT to serve on (port 0 = ephemeral)")
    ap.add_argument("--proto_root", default=DEFAULT_PROTO_ROOT,
                    help="directory holding %s" % ACTION_PROTO)
    ap.add_argument("--gen_dir", default="",
                    help="where to generate the Python code (default: a "
                    "temporary directory removed at exit)")
    ap.add_argument("--max_streams", type=int, default=64,
                    help="concurrent calls (one thread each)")
    args = ap.parse_args()

    gen_dir = args.gen_dir or tempfile.mkdtemp(prefix="python_quotes_gen_")
    try:
        os.makedirs(gen_dir, exist_ok=True)
        generate_code(args.proto_root, gen_dir)
        action_pb2 = importlib.import_module("ssebridge.action.v1.action_pb2")
        action_grpc = importlib.import_module(
            "ssebridge.action.v1.action_pb2_grpc")
        health_pb2 = importlib.import_module("quotes_health.health_pb2")
        health_grpc = importlib.import_module("quotes_health.health_pb2_grpc")

        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=args.max_streams + 4),
            maximum_concurrent_rpcs=args.max_streams)
        action_grpc.add_ActionServiceServicer_to_server(
            make_servicer(action_pb2, action_grpc), server)
        health_grpc.add_HealthServicer_to_server(
            make_health(health_pb2, health_grpc), server)
        try:
            port = server.add_insecure_port(args.listen)
        except RuntimeError:  # grpcio 1.51 raises; older ones return 0
            port = 0
        if port == 0:
            print("python_quotes: cannot listen on %s: address in use or "
                  "invalid" % args.listen, file=sys.stderr)
            return 1
        server.start()
        host = args.listen.rsplit(":", 1)[0]
        print("listening on %s:%d" % (host, port), flush=True)

        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        print("python_quotes: stopping", file=sys.stderr, flush=True)
        server.stop(grace=2).wait()
        return 0
    finally:
        if not args.gen_dir:
            shutil.rmtree(gen_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
