#!/usr/bin/python3
"""Container health check of services/python_quotes: grpc.health.v1 Check.

Exits 0 only if the server at ADDR (default 127.0.0.1:50054) answers
SERVING within the timeout. Needs only python3-grpcio: the request and the
answer are tiny protobuf messages written out by hand (HealthCheckRequest
with service "" is empty; SERVING is field 1 = 1), so no generated code.

  python_health_check.py [ADDR] [--timeout SECONDS]
"""

import argparse
import sys

import grpc

SERVING = b"\x08\x01"  # HealthCheckResponse{status: SERVING}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("addr", nargs="?", default="127.0.0.1:50054")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    with grpc.insecure_channel(args.addr) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            answer = check(b"", timeout=args.timeout, wait_for_ready=True)
        except grpc.RpcError as e:
            print("%s: unhealthy: %s" % (args.addr, e.code().name))
            return 2
    if answer != SERVING:
        print("%s: unhealthy: answer %r" % (args.addr, answer))
        return 1
    print("%s: SERVING" % args.addr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
