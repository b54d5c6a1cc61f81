"""Benchmark scenarios: how many clouds, how many servers, and every other type in proportion.

The simulator's generator builds consistent related data around the servers (ports on the project
network, two per server with ``ports_per_server``, a third on a shared network for 1 server in 10, boot
and data volumes, routers, load balancers whose members are server addresses...). The scenario sets its
knobs so that the proportions are those of a typical private cloud: about 2 ports and 1 volume per server
(attached volumes plus half as many free ones), a snapshot per 5 servers, a project per 50 servers, a load
balancer per 100 servers. The counts actually generated are read back from the simulator and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def counts_for(servers):
    """Keyword arguments of ``Simulator.add_cloud`` for a cloud of ``servers`` servers."""
    return {
        "servers": servers,
        "projects": max(2, servers // 50),
        "volumes": max(2, servers // 2),  # free volumes, on top of the ~0.5 per server attached
        "volume_snapshots": max(1, servers // 5),
        "load_balancers": max(1, servers // 100),
        "ports_per_server": 2,  # two NICs per server (one server in ten has a third, on a shared network)
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
    run_cmdb: bool = True
    run_live_inventory: bool = True
    run_cmdb_inventory: bool = True
    timeout: float = 900.0
    generated: dict = field(default_factory=dict)  # type -> count over every cloud, from the simulator

    @property
    def key(self):
        return self.name + ("+lat" if self.latency and self.name != "INV" else "")

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
        """Resources of every listed type in every cloud, once the simulator reported them."""
        if self.generated:
            return sum(self.generated.values())
        return None


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
            run_cmdb_inventory=False,  # 100,000 hosts: Ansible itself needs minutes and gigabytes (see M)
            run_postgres=False,  # PostgreSQL is measured on M; L on SQLite keeps the run shorter
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
            run_cmdb=False,  # with 2 s per request this measures the simulator's latency, not the CMDB
        ),
    }
    # for profiling (not in the default set): one mid-size cloud
    base["P"] = Scenario(
        "P",
        1,
        20000,
        description="1 cloud, 20,000 servers (profiling)",
        run_reference_info=False,
        run_reference_inventory=False,
        run_postgres=False,
    )
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
            lat.run_cmdb = lat.run_postgres = False  # the database steps are measured without latency
            if name == "M":
                # openstack.cloud's inventory of 20,000 servers takes 6-9 minutes: measured once on M;
                # its behaviour under latency is measured on INV (the point of the earlier measurement)
                lat.run_reference_inventory = False
            out.append(lat)
    return out
