"""Profile: 2,000 servers as raw JSON pages vs openstacksdk Resource objects (not a test).

    source .venv/bin/activate && python tests/integration/info_modules/profile_listing.py [servers]

Starts the simulator in-process, lists the servers of one region four ways, best of 3 runs each,
and prints a Markdown table (the numbers in docs/info-modules.md come from here).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # tests/: support.paths

import support.paths  # puts the collection and the simulator on sys.path

from ansible_collections.cmdb.openstack.plugins.module_utils import connection, gather
from os_simulator import Simulator


def best(function, runs=3):
    times = []
    result = None
    for _index in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def main(count=2000):
    assert support.paths.COLLECTIONS_DIR
    sim = Simulator().start()
    try:
        cloud = sim.add_cloud("profile", regions=("RegionOne",), servers=count, projects=4)
        session = connection.open_cloud({"auth": dict(cloud.credentials())}, name="profile")
        conn = session.connection("RegionOne")
        compute = conn.compute

        def raw_pages():
            items = []
            url, params = "/servers/detail", {"all_tenants": "1", "limit": 1000}
            while url:
                body = compute.get(url, params=params, microversion="2.96", raise_exc=False).json()
                params = None
                items.extend(body["servers"])
                url = next((link["href"] for link in body.get("servers_links", ()) if link["rel"] == "next"), None)
            return items

        def gathered():
            return gather.records_by_type(gather.gather(session, ["servers"]))["servers"]

        def sdk_objects():
            return list(compute.servers(all_projects=True))

        def sdk_to_dict():
            return [server.to_dict(computed=False) for server in compute.servers(all_projects=True)]

        rows = []
        for label, function in (
            ("raw GET pages + json (the API floor)", raw_pages),
            ("gather: raw pages + normalize (records with relations)", gathered),
            ("list(conn.compute.servers(all_projects=True))", sdk_objects),
            ("... + to_dict(computed=False) per server", sdk_to_dict),
        ):
            seconds, result = best(function)
            rows.append((label, len(result), seconds))
        print("| listing of %d servers | items | seconds (best of 3) | per 1,000 |" % count)
        print("|---|---:|---:|---:|")
        for label, items, seconds in rows:
            print("| %s | %d | %.3f | %.3f |" % (label, items, seconds, seconds * 1000 / max(items, 1)))
        profiler = cProfile.Profile()
        profiler.enable()
        sdk_objects()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(12)
        print("\ncProfile of the SDK listing (cumulative):\n")
        print(out.getvalue())
        session.close()
    finally:
        sim.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
