#!/usr/bin/env python3
"""Makes a hostile variant of a Vessel instance backup for export_e2e.sh.

usage: hostile_backup.py SOURCE.tar.gz TARGET KIND

TARGET is SOURCE's members (index.json first) with one thing changed, as KIND says: a member
that escapes (traversal, absolute, symlink-out, hardlink-out), a device node, more data or
members than index.json declares (size-bomb, entry-bomb), an index that claims too much or
is invalid (huge-claim, bad-name, bad-config, newer-format, no-index), a member outside the
sections or of a snapshot index.json does not list, an image whose metadata names a host file
as its kernel. Where the change adds members or data, index.json is adjusted to declare them,
so that the check under test is the one that refuses it.
"""
import io
import json
import sys
import tarfile

source, target, kind = sys.argv[1:4]

with tarfile.open(source, "r:*") as archive:
    members = [(m, archive.extractfile(m).read() if m.isfile() else None)
               for m in archive.getmembers()]

index = json.loads(members[0][1])
members = members[1:]


def regular(name, data=b"", mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def special(name, kind_of, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind_of
    for key, value in fields.items():
        setattr(info, key, value)
    return info, None


def declare(added):
    index["contents"]["entries"] += len(added)
    index["contents"]["data_bytes"] += sum(len(data or b"") for _, data in added)


def insert_in_instance(added, declared=True):
    """Puts `added` right after the instance section's first member."""
    at = next(i for i, (m, _) in enumerate(members) if m.name.startswith("instance"))
    members[at + 1:at + 1] = added
    if declared:
        declare(added)


evil = "vessel-export-evil"
if kind == "traversal":
    insert_in_instance([regular("instance/upper/../../../../../tmp/" + evil, b"x")])
elif kind == "absolute":
    insert_in_instance([regular("/tmp/" + evil, b"x")])
elif kind == "symlink-out":
    insert_in_instance([special("instance/upper/etc-link", tarfile.SYMTYPE, linkname="/etc"),
                        regular("instance/upper/etc-link/" + evil, b"x")])
elif kind == "hardlink-out":
    insert_in_instance([special("instance/upper/root/h", tarfile.LNKTYPE,
                                linkname="image/rootfs/bin/busybox")])
elif kind == "device":
    insert_in_instance([special("instance/upper/root/null", tarfile.CHRTYPE, devmajor=1,
                                devminor=3)])
elif kind == "size-bomb":
    insert_in_instance([regular("instance/upper/root/bomb", bytes(64 << 20))], declared=False)
    index["contents"]["entries"] += 1
elif kind == "entry-bomb":
    insert_in_instance([regular(f"instance/upper/root/e{i}") for i in range(100)],
                       declared=False)
elif kind == "huge-claim":
    index["contents"]["data_bytes"] = 10**18
elif kind == "outside":
    insert_in_instance([regular("elsewhere/x", b"x")])
elif kind == "unknown-snapshot":
    members.append(regular("snapshots/ghost/upper/x", b"x"))
    declare(members[-1:])
elif kind == "bad-name":
    index["instance"]["name"] = "../x"
elif kind == "bad-config":
    index["instance"]["config"] = {"limits.memory": "lots"}
elif kind == "newer-format":
    index["format_version"] = 99
elif kind == "image-kernel-escape":
    # A VM image whose metadata names a host file as its kernel; the rest is unchanged.
    index["instance"]["type"] = "vm"
    index["instance"]["config"] = {}
    index["snapshots"] = []
    members = [(m, d) for (m, d) in members if not m.name.startswith("snapshots")]
    for i, (m, d) in enumerate(members):
        if m.name == "image/metadata.json":
            data = json.dumps({"type": "vm", "kernel": "../../../../etc/passwd"}).encode()
            index["contents"]["data_bytes"] += len(data) - len(d)
            members[i] = regular(m.name, data)
    index["contents"]["entries"] = len(members)
    index["contents"]["data_bytes"] = sum(len(d or b"") for _, d in members)
elif kind != "no-index":
    sys.exit(f"unknown kind {kind}")

with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as out:
    if kind != "no-index":
        data = json.dumps(index, indent=2).encode()
        out.addfile(regular("index.json", data)[0], io.BytesIO(data))
    for info, data in members:
        out.addfile(info, io.BytesIO(data) if data is not None else None)
