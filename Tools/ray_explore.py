#!/usr/bin/env python3
"""spinel explore on a Ray cluster (docs/EXPLORE.md, "Ray").

Each pending point of the space is one Ray task that runs `spinel explore-point` on a worker;
the point writes OUT/points/<hash>.json atomically itself, so a worker that dies mid-point loses
only that point (Ray runs the task again, max_retries), finished points are never redone, and
a re-run of the same command resumes. The driver then lets `spinel explore` (local engine, with
nothing left to do) write the tables and the report.

Workers need the same `spinel` binary, the testbenches and OUT at the same paths (a shared
file system on a real cluster: docs/EXPLORE.md).

  python3 Tools/ray_explore.py --spinel .build/debug/spinel --space S.json --out DIR [--address ray://host:10001]
"""
import argparse
import os
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spinel", required=True, help="the spinel binary (the same path on every worker)")
    parser.add_argument("--space", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--area", default="model")
    parser.add_argument("--testbenches", default="Testbenches")
    parser.add_argument("--address", default=None, help="a running Ray cluster (default: a local one for this run)")
    parser.add_argument("--max-retries", type=int, default=3, help="attempts after a worker dies (Ray task retries)")
    parser.add_argument("--cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    args = parser.parse_args()

    try:
        import ray
    except ImportError:
        sys.exit("ray_explore.py: Ray is not installed; install it with: python3 -m pip install ray")

    spinel = os.path.abspath(args.spinel)
    common = ["--space", os.path.abspath(args.space), "--out", os.path.abspath(args.out),
              "--area", args.area, "--testbenches", os.path.abspath(args.testbenches)]
    pending = subprocess.run([spinel, "explore", *common, "--list-pending"], check=True,
                             capture_output=True, text=True).stdout.split()
    print(f"ray_explore: {len(pending)} points to evaluate", file=sys.stderr, flush=True)
    if pending:
        if args.address:
            ray.init(address=args.address)
        else:
            ray.init(num_cpus=args.cpus, include_dashboard=False)

        @ray.remote(max_retries=args.max_retries, retry_exceptions=False)
        def point(hash_):
            environment = dict(os.environ)
            # The kill hook (tests): the point may kill this worker process on its first attempt.
            environment["SPINEL_EXPLORE_KILL_PID"] = str(os.getpid())
            result = subprocess.run([spinel, "explore-point", *common, "--hash", hash_], env=environment,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"point {hash_}: spinel explore-point exited {result.returncode}: {result.stderr}")
            return hash_

        tasks = [point.remote(h) for h in pending]
        done = 0
        failures = []
        while tasks:
            ready, tasks = ray.wait(tasks, num_returns=1)
            try:
                ray.get(ready[0])
            except Exception as error:  # a point that failed every attempt; the others go on
                failures.append(str(error))
            done += 1
            print(f"ray_explore: {done} / {len(pending)} points done", file=sys.stderr, flush=True)
        ray.shutdown()
        if failures:
            print("ray_explore: failed points (run again to retry):\n" + "\n".join(failures), file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
