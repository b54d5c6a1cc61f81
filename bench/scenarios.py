"""Benchmark scenarios: how many clouds, how many servers, and every other type in proportion.

Proportions per server (what a typical private cloud looks like): 2 ports and 1 volume per
server, a snapshot for 1 volume in 5, a floating IP for 1 server in 4, a project per 50 servers,
a network (with its subnet) per 40 servers, a router per 4 networks, a load balancer per 100
servers, and security groups per project. Images and flavors are fixed catalogues.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def counts_for(servers):
    """Counts of every generated type for a cloud of ``servers`` servers (keyword args of add_cloud)."""
    projects = max(2, servers // 50)
    networks = max(2, servers // 40)
    return {
        "servers": servers,
        "projects": projects,
        "ports": 2 * servers,
        "volumes": servers,
        "volume_snapshots": max(1, servers // 5),
        "floating_ips": max(1, servers // 4),
        "networks": networks,
        "subnets": networks,
        "routers": max(1, networks // 4),
        "load_balancers": max(1, servers // 100),
        "security_groups": 2 * projects,
        "images": min(100, max(5, servers // 100)),
        "flavors": 20,
    }


@dataclass
class Scenario:
    name: str
    clouds: int
    servers: int  # per cloud
    latency: float = 0.0  # seconds added to every API request (simulator fault "latency")
    description: str = ""
    # which measurement groups run (the openstack.cloud references are too slow for the large ones)
    run_reference_info: bool = True
    run_reference_inventory: bool = True
    run_postgres: bool = True
    run_live_inventory: bool = True
    timeout: float = 900.0
    tags: list = field(default_factory=list)

    @property
    def key(self):
        return self.name + ("+lat" if self.latency else "")

    @property
    def label(self):
        lat = ", %d ms latency" % round(self.latency * 1000) if self.latency else ""
        return "%s: %d cloud%s x %s servers%s" % (
            self.name,
            self.clouds,
            "s" if self.clouds > 1 else "",
            format(self.servers, ","),
            lat,
        )

    def counts(self):
        return counts_for(self.servers)

    def total_servers(self):
        return self.clouds * self.servers

    def total_resources(self):
        per_cloud = self.counts()
        return self.clouds * sum(v for k, v in per_cloud.items() if k != "projects")


def build(names, latency=0.2, quick=False, with_latency=True):
    """The scenario list for ``names`` (S, M, L, INV), each without and (unless L) with latency."""
    base = {
        "S": Scenario("S", 1, 1000, description="1 cloud, 1,000 servers"),
        "M": Scenario(
            "M",
            10,
            2000,
            description="10 clouds x 2,000 servers",
            run_reference_info=False,  # openstack.cloud would take many minutes; measured on S
        ),
        "L": Scenario(
            "L",
            1,
            100000,
            description="1 cloud, 100,000 servers",
            run_reference_info=False,
            run_reference_inventory=False,
            run_live_inventory=False,
            timeout=1800.0,
        ),
        # the note's reference point for openstack.cloud's inventory: 3 clouds x 2,000 servers, 2 s latency
        "INV": Scenario(
            "INV",
            3,
            2000,
            latency=2.0,
            description="3 clouds x 2,000 servers, 2 s latency (inventory reference point)",
            run_reference_info=False,
            run_postgres=False,
        ),
    }
    if quick:
        base["S"] = Scenario("S", 1, 200, description="quick: 1 cloud, 200 servers", run_postgres=True)
    out = []
    for name in names:
        name = name.strip().upper()
        if not name:
            continue
        if name not in base:
            raise SystemExit("unknown scenario %r; valid: %s" % (name, ", ".join(base)))
        scen = base[name]
        out.append(scen)
        if with_latency and latency and name in ("S", "M") and not quick:
            lat = Scenario(**{**scen.__dict__, "latency": latency})
            lat.run_postgres = False  # the database steps do not depend on API latency
            out.append(lat)
    return out
