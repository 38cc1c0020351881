#!/usr/bin/env python3
"""Writes the binary seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): minimal valid
inputs in each target's own input layout, so the fuzzers start past the first checks. The text
seeds (config.json, vm.json, HTTP requests) are written by hand next to these. Deterministic:
running it again rewrites the same bytes."""
import io
import json
import os
import struct
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


class Ram:
    """Guest RAM for the virtio targets: a bytearray written at guest addresses (RAM at `base`)."""

    def __init__(self, base=0):
        self.base = base
        self.data = bytearray()

    def write(self, address, data):
        offset = address - self.base
        if len(self.data) < offset + len(data):
            self.data.extend(b"\0" * (offset + len(data) - len(self.data)))
        self.data[offset:offset + len(data)] = data

    def descriptor(self, table, index, address, length, flags, next_index=0):
        self.write(table + 16 * index, struct.pack("<QIHH", address, length, flags, next_index))

    def available(self, ring, heads, size):
        self.write(ring, struct.pack("<HH", 0, len(heads)))
        for slot, head in enumerate(heads):
            self.write(ring + 4 + 2 * (slot % size), struct.pack("<H", head))


NEXT, WRITE, INDIRECT = 1, 2, 4


def harness(ring_features, device_features, shifts, kicks, ram):
    """tests/fuzz/virtio_harness.h's input layout."""
    return (bytes([ring_features]) + struct.pack("<I", device_features) + bytes(shifts) +
            bytes([kicks]) + bytes(ram.data))


def queue(q):
    return q * 0x1000, q * 0x1000 + 0x400, q * 0x1000 + 0x800


def blk():
    # type, sector, data length, whether the device writes the data buffer
    requests = {"read": (0, 1, 512, True), "write": (1, 2, 1024, False), "flush": (4, 0, 0, False),
                "get-id": (8, 0, 20, True), "discard": (11, 0, 16, False),
                "write-zeroes": (13, 0, 16, False), "beyond-disk": (0, 1 << 40, 512, True)}
    for name, (kind, sector, length, writable) in requests.items():
        ram = Ram()
        desc, avail, _ = queue(0)
        ram.write(0x2000, struct.pack("<IIQ", kind, 0, sector))
        if kind in (11, 13):  # one discard/write-zeroes range: sector, sectors, flags
            ram.write(0x3000, struct.pack("<QII", sector, 8, 0))
        else:
            ram.write(0x3000, bytes(range(256)) * (length // 256) + bytes(length % 256))
        ram.descriptor(desc, 0, 0x2000, 16, NEXT, 1)
        if length:
            ram.descriptor(desc, 1, 0x3000, length, NEXT | (WRITE if writable else 0), 2)
            ram.descriptor(desc, 2, 0x4000, 1, WRITE)
        else:
            ram.descriptor(desc, 1, 0x4000, 1, WRITE)
        ram.available(avail, [0], 8)
        ram.write(0x4000, b"\xee")
        for read_only in (0, 1):
            put("virtio_blk", f"{name}-{'ro' if read_only else 'rw'}",
                bytes([read_only]) + harness(0, 0xffffffff, [3], 0, ram))
    # The same read through an indirect table.
    ram = Ram()
    desc, avail, _ = queue(0)
    ram.write(0x2000, struct.pack("<IIQ", 0, 0, 0))
    ram.descriptor(0x5000, 0, 0x2000, 16, NEXT, 1)
    ram.descriptor(0x5000, 1, 0x3000, 512, NEXT | WRITE, 2)
    ram.descriptor(0x5000, 2, 0x4000, 1, WRITE)
    ram.descriptor(desc, 0, 0x5000, 48, INDIRECT)
    ram.available(avail, [0], 8)
    put("virtio_blk", "read-indirect", b"\0" + harness(1, 0xffffffff, [3], 0, ram))


def net():
    frame = bytes.fromhex("525400123456") + bytes.fromhex("525400abcdef") + b"\x08\x00" + bytes(46)
    for header in (0, 1):
        ram = Ram()
        rx_desc, rx_avail, _ = queue(0)
        tx_desc, tx_avail, _ = queue(1)
        for i in range(4):  # receive buffers
            ram.descriptor(rx_desc, i, 0x4000 + i * 0x800, 0x800, WRITE)
        ram.available(rx_avail, [0, 1, 2, 3], 8)
        ram.write(0x3000, bytes(12) + frame)  # virtio_net_hdr, then the frame
        ram.descriptor(tx_desc, 0, 0x3000, 12, NEXT, 1)
        ram.descriptor(tx_desc, 1, 0x300c, len(frame), 0)
        ram.available(tx_avail, [0], 8)
        host = struct.pack("<H", len(frame)) + frame
        options = header | (2 << 1)  # two frames wait for the guest
        for mergeable in (0, 1 << 15):
            put("virtio_net", f"frames-header{header}-mergeable{int(bool(mergeable))}",
                bytes([options]) + host + host +
                harness(2, 0x20 | mergeable | (0x3 if header else 0), [3, 3], 0x44, ram))


def vsock_packet(op, src_port, dst_port, payload=b"", src_cid=3, dst_cid=2):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, len(payload), 1, op, 0,
                       65536, 0) + payload


def vsock():
    REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)
    cases = {
        # The guest connects to host port 1024 (a listener there), sends data, shuts down.
        "guest-connects": (1, [vsock_packet(REQUEST, 5000, 1024),
                               vsock_packet(RW, 5000, 1024, b"hello host"),
                               vsock_packet(CREDIT_REQUEST, 5000, 1024),
                               vsock_packet(SHUTDOWN, 5000, 1024)]),
        # The host connects to guest port 7000; the guest accepts (the device's first host port
        # is 1 << 30) and writes.
        "host-connects": (2 | 4, [vsock_packet(RESPONSE, 7000, 1 << 30),
                                  vsock_packet(RW, 7000, 1 << 30, b"hello guest"),
                                  vsock_packet(CREDIT_UPDATE, 7000, 1 << 30),
                                  vsock_packet(RST, 7000, 1 << 30)]),
        "nobody-listens": (0, [vsock_packet(REQUEST, 5000, 9999)]),
    }
    for name, (options, packets) in cases.items():
        ram = Ram()
        rx_desc, rx_avail, _ = queue(0)
        tx_desc, tx_avail, _ = queue(1)
        for i in range(4):
            ram.descriptor(rx_desc, i, 0x8000 + i * 0x400, 0x400, WRITE)
        ram.available(rx_avail, [0, 1, 2, 3], 8)
        for i, packet in enumerate(packets):
            ram.write(0x4000 + i * 0x100, packet)
            ram.descriptor(tx_desc, i, 0x4000 + i * 0x100, len(packet), 0)
        ram.available(tx_avail, list(range(len(packets))), 8)
        prefix = bytes([options]) + struct.pack("<II", 1024, 7000) + bytes([5]) + b"data!"
        put("virtio_vsock", name, prefix + harness(0, 0, [3, 3, 2], 0x44, ram))


def rng():
    ram = Ram()
    desc, avail, _ = queue(0)
    ram.descriptor(desc, 0, 0x3000, 64, WRITE | NEXT, 1)
    ram.descriptor(desc, 1, 0x4000, 32, WRITE)
    ram.descriptor(desc, 2, 0x5000, 16, WRITE)
    ram.available(avail, [0, 2], 8)
    put("virtio_rng", "two-chains", harness(0, 0, [3], 0, ram))


def console():
    ram = Ram()
    rx_desc, rx_avail, _ = queue(0)
    tx_desc, tx_avail, _ = queue(1)
    ram.descriptor(rx_desc, 0, 0x3000, 8, WRITE)
    ram.descriptor(rx_desc, 1, 0x3100, 64, WRITE)
    ram.available(rx_avail, [0, 1], 8)
    ram.write(0x4000, b"login: root\n")
    ram.descriptor(tx_desc, 0, 0x4000, 12, 0)
    ram.available(tx_avail, [0], 8)
    typed = b"uname -a\n"
    put("virtio_console", "both-ways", bytes([len(typed)]) + typed + harness(0, 0, [3, 3], 0x44, ram))


def mmio():
    """virtio_mmio_fuzz.cpp: register operations (index into its register table), then RAM."""
    registers = ["magic", "version", "device_id", "vendor", "device_features",
                 "device_features_sel", "driver_features", "driver_features_sel", "queue_sel",
                 "queue_num_max", "queue_num", "queue_ready", "queue_notify", "interrupt_status",
                 "interrupt_ack", "status", "queue_desc_low", "queue_desc_high", "queue_driver_low",
                 "queue_driver_high", "queue_device_low", "queue_device_high", "shm_sel",
                 "shm_len_low", "shm_len_high", "config_generation", "config"]

    def write(name, value):
        return bytes([registers.index(name), 1]) + struct.pack("<I", value)

    def read(name):
        return bytes([registers.index(name), 0])

    ops = (read("magic") + read("version") + read("device_id") + write("status", 0) +
           write("status", 1) + write("status", 3) + write("device_features_sel", 1) +
           read("device_features") + write("driver_features_sel", 1) +
           write("driver_features", 1) + write("driver_features_sel", 0) +
           write("driver_features", 1 << 28) + write("status", 11) + read("status") +
           write("queue_sel", 0) + read("queue_num_max") + write("queue_num", 8) +
           write("queue_desc_low", 0) + write("queue_driver_low", 0x400) +
           write("queue_device_low", 0x800) + write("queue_ready", 1) + write("status", 15) +
           write("queue_notify", 0) + read("interrupt_status") + write("interrupt_ack", 1) +
           read("config_generation") + read("shm_len_low") + write("queue_ready", 0) +
           write("status", 0))
    ram = Ram()
    ram.descriptor(0, 0, 0x3000, 16, WRITE)
    ram.available(0x400, [0], 8)
    put("virtio_mmio", "linux-bring-up", struct.pack("<H", len(ops)) + ops + bytes(ram.data))


def virtqueue():
    base = 0x1000  # virtqueue_fuzz.cpp's RAM base
    desc, avail, used = base, base + 0x400, base + 0x800
    ram = Ram(base)
    ram.descriptor(desc, 0, base + 0x2000, 100, NEXT, 1)
    ram.descriptor(desc, 1, base + 0x3000, 200, NEXT | WRITE, 2)
    ram.descriptor(desc, 2, base + 0x4000, 300, WRITE)
    ram.descriptor(desc, 3, base + 0x5000, 32, INDIRECT)
    ram.descriptor(base + 0x5000, 0, base + 0x6000, 50, NEXT, 1)
    ram.descriptor(base + 0x5000, 1, base + 0x7000, 60, WRITE)
    ram.descriptor(desc, 4, base + 0x8000, 8, 0)
    ram.available(avail, [0, 3, 4], 8)
    for options in (1, 3):
        put("virtqueue", f"chains-{options}", bytes([options, 3, 20]) + bytes(ram.data))
    # The driver's own layout numbers, checked by create().
    layout = struct.pack("<HQQQ", 8, desc, avail, used)
    put("virtqueue", "raw-layout", bytes([5, 3]) + layout + bytes([20]) + bytes(ram.data))


def elf(machine, address, entry_offset=0):
    code = b"\x13\x00\x00\x00" * 4
    header = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, bytes(7), 2,
                         machine, 1, address + entry_offset, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 120, address, address, len(code), len(code) + 64,
                          0x1000)
    return header + program + code


def loaders():
    put("elf_loader", "riscv", elf(243, 0x8000_0000))
    put("elf_loader", "x86-64", elf(62, 0x8000_1000))
    # RISC-V Image: code0, code1, text_offset, image_size, flags, version, res1, res2, magic, magic2
    image = struct.pack("<IIQQQIIQQI", 0x13, 0x13, 0x200000, 0x10000, 0, 2, 0, 0,
                        int.from_bytes(b"RISCV\0\0\0", "little"), int.from_bytes(b"RSC\x05", "little"))
    image += bytes(4) + bytes(256)
    for ram_pages, initrd in ((0x10000, 0), (0x10000, 4096), (0x100, 4096)):
        put("riscv_image", f"ram{ram_pages:x}-initrd{initrd}",
            struct.pack("<IQ", ram_pages, initrd) + image)
    # bzImage with a 2.15 setup header, 64-bit entry, relocatable.
    setup_sects = 4
    kernel = bytearray((setup_sects + 1) * 512 + 4096)
    struct.pack_into("<B", kernel, 0x1f1, setup_sects)
    struct.pack_into("<H", kernel, 0x1fe, 0xaa55)
    kernel[0x200:0x202] = bytes([0xeb, 0x6a])  # the header ends at 0x26c
    kernel[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", kernel, 0x206, 0x020f)
    struct.pack_into("<B", kernel, 0x211, 0x01)
    struct.pack_into("<I", kernel, 0x22c, 0x7fffffff)
    struct.pack_into("<I", kernel, 0x230, 0x200000)
    struct.pack_into("<B", kernel, 0x234, 1)
    struct.pack_into("<H", kernel, 0x236, 0x1 | 0x2)
    struct.pack_into("<I", kernel, 0x238, 2047)
    struct.pack_into("<Q", kernel, 0x258, 0x1000000)
    struct.pack_into("<I", kernel, 0x260, 0x100000)
    initrd = b"070701" + bytes(100)
    cmdline = b"console=ttyS0 root=/dev/vda"
    prefix = struct.pack("<I", 16) + struct.pack("<H", len(initrd)) + initrd + bytes([len(cmdline)])
    put("bzimage", "bzimage", prefix + cmdline + bytes(kernel))
    put("bzimage", "vmlinux", struct.pack("<I", 0) + struct.pack("<H", 0) + bytes([0]) +
        elf(62, 0x100_0000))


def registers():
    # uart16550: op = kind << 6 | width << 4 | offset; writes carry a u64.
    def w(offset, value):
        return bytes([0x40 | offset]) + struct.pack("<Q", value)

    def r(offset):
        return bytes([offset])

    linux_probe = (w(3, 0x80) + w(0, 12) + w(1, 0) + w(3, 0x03) + w(2, 0xc7) + w(4, 0x0b) +
                   w(1, 0x0f) + r(2) + r(5) + w(0, 0x41) + r(2) + bytes([0xc0, 8]) + b"incoming" +
                   r(0) + r(5) + r(2) + w(4, 0x1f) + w(0, 0x42) + r(0) + r(6) + r(7) + w(7, 0x55) +
                   r(7))
    put("uart16550", "linux-probe", linux_probe)

    # plic: a hart count, then ops (op & 3: read, write, line, claim).
    def plic_write(offset_kind, index, value):
        return bytes([1 | (2 << 2)]) + struct.pack("<I", offset_kind | (index << 2)) + \
            struct.pack("<I", value)

    plic = (bytes([1, 0, 0, 0]) + plic_write(0, 40, 1) +  # priority of source 10
            plic_write(1, 0x84, 1 << 10) +  # enable for context 1 (S-mode of hart 0)
            plic_write(2, 1, 0) +  # threshold of context 1
            bytes([2 | 0x80, 10]) +  # line 10 high
            bytes([3 | 0x80]) + struct.pack("<I", 1) +  # claim and complete on context 1
            bytes([2, 10]) + bytes([0 | (2 << 2)]) + struct.pack("<I", 0x1000 >> 0 << 2))
    put("plic", "claim-complete", plic)

    clint = bytes([1, 0, 0, 0])
    clint += bytes([1 | (2 << 1) | (0 << 3)]) + struct.pack("<I", 4) + struct.pack("<Q", 1)
    clint += bytes([0 | (2 << 1) | (0 << 3)]) + struct.pack("<I", 4)
    clint += bytes([1 | (3 << 1) | (1 << 3)]) + struct.pack("<I", 8) + struct.pack("<Q", 1 << 40)
    clint += bytes([0 | (3 << 1) | (2 << 3)]) + struct.pack("<I", 0)
    put("clint", "msip-mtimecmp-mtime", clint)

    # sbi: hart count, then calls: hart, extension pick, fid, a0..a5 (argument kind bytes).
    def call(hart, pick, fid, *args):
        out = bytes([hart, pick]) + bytes([fid << 2])
        args = list(args) + [0] * (6 - len(args))
        for a in args:
            out += bytes([a << 2])
        return out

    ram_arg = lambda offset: bytes([1]) + struct.pack("<I", 0x100 + offset)
    sbi = bytes([1, 0, 0, 0])
    sbi += call(0, 0, 0) + call(0, 0, 3, 0x10) + call(0, 0, 4) + call(0, 1, 0, 5)
    sbi += call(0, 2, 0, 3, 0) + call(0, 3, 0, 1, 0) + call(0, 4, 0, 1) + call(0, 4, 2, 1)
    sbi += call(0, 6, 2, 33)  # DBCN write_byte
    sbi += bytes([0, 6]) + bytes([0]) + bytes([4 << 2]) + ram_arg(0) + bytes([0]) * 4  # DBCN write
    sbi += call(0, 8, 0, 33) + call(0, 9, 0) + call(0, 5, 0, 0, 0)  # legacy putchar, getchar, SRST
    put("sbi", "each-extension", sbi)


def archives():
    def tar(entries):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
            for info, data in entries:
                info.mtime = 0
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()

    def member(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        info.linkname = link
        return info, data if kind == tarfile.REGTYPE else None

    put("archive", "rootfs", tar([member("./", tarfile.DIRTYPE, mode=0o755),
                                  member("./bin", tarfile.DIRTYPE, mode=0o755),
                                  member("./bin/busybox", data=b"\x7fELF...", mode=0o755),
                                  member("./bin/sh", tarfile.SYMTYPE, link="busybox"),
                                  member("./bin/ls", tarfile.LNKTYPE, link="bin/busybox"),
                                  member("./etc/fifo", tarfile.FIFOTYPE)]))
    hostile = {
        "absolute": [member("/etc/passwd", data=b"x")],
        "dotdot": [member("../outside/file", data=b"x")],
        "symlink-then-write": [member("escape", tarfile.SYMTYPE, link="../outside"),
                               member("escape/file", data=b"overwritten")],
        "absolute-symlink-then-write": [member("escape", tarfile.SYMTYPE, link="/tmp"),
                                        member("escape/vessel-fuzz-escaped", data=b"x")],
        "hardlink-out": [member("link", tarfile.LNKTYPE, link="../outside/file")],
        "hardlink-through-symlink": [member("escape", tarfile.SYMTYPE, link="../outside"),
                                     member("link", tarfile.LNKTYPE, link="escape/file")],
        "device": [member("dev/null", tarfile.CHRTYPE)],
    }
    for name, entries in hostile.items():
        put("archive", name, tar(entries))


def backups():
    """backup_fuzz.cpp: instance backups as `vessel export` writes them (pax, index.json first),
    and the hostile shapes an import must refuse."""
    def member(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, xattrs=None,
               device=(0, 0)):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.devmajor, info.devminor = device
        info.mode = mode
        info.mtime = 0
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        info.linkname = link
        if xattrs:
            info.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        return info, data if kind == tarfile.REGTYPE else None

    def backup(members, snapshots=(), kind="container", data_bytes=None, entries=None):
        index = {
            "format": "vessel-instance-backup", "format_version": 1, "exported_at": 0,
            "instance": {"name": "c1", "type": kind, "config": {}, "created_at": 0},
            "image": {"fingerprint": "a" * 64, "description": "", "aliases": ["busybox"]},
            "snapshots": [{"name": s, "config": {}, "created_at": 0} for s in snapshots],
            "contents": {
                "data_bytes": sum(len(d or b"") for _, d in members) if data_bytes is None
                else data_bytes,
                "entries": len(members) if entries is None else entries},
        }
        text = json.dumps(index, sort_keys=True).encode()
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
            for info, data in [member("index.json", data=text)] + members:
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()

    image = [member("image", tarfile.DIRTYPE, mode=0o755),
             member("image/metadata.json", data=b'{"type":"container"}'),
             member("image/rootfs", tarfile.DIRTYPE, mode=0o755),
             member("image/rootfs/bin/busybox", data=b"\x7fELF", mode=0o755)]
    instance = [member("instance", tarfile.DIRTYPE, mode=0o700),
                member("instance/upper", tarfile.DIRTYPE, mode=0o755),
                member("instance/upper/root", tarfile.DIRTYPE, mode=0o700,
                       xattrs={"trusted.overlay.opaque": "y"}),
                member("instance/upper/root/data", data=b"two", xattrs={"user.kept": "v"}),
                member("instance/upper/root/link", tarfile.LNKTYPE, link="instance/upper/root/data"),
                member("instance/upper/root/sh", tarfile.SYMTYPE, link="/bin/busybox"),
                member("instance/upper/root/deleted", tarfile.CHRTYPE)]
    snapshot = [member("snapshots/s1", tarfile.DIRTYPE, mode=0o700),
                member("snapshots/s1/upper/root/data", data=b"one")]
    put("backup", "container", backup(image + instance + snapshot, snapshots=["s1"]))
    put("backup", "vm", backup(image[:2] + [member("instance", tarfile.DIRTYPE),
                                            member("instance/root.img", data=b"\0" * 512)],
                               kind="vm"))
    hostile = {
        "dotdot": [member("instance/../../outside/file", data=b"x")],
        "symlink-then-write": [member("instance/escape", tarfile.SYMTYPE, link="../../../outside"),
                               member("instance/escape/file", data=b"overwritten")],
        "hardlink-out": [member("instance/link", tarfile.LNKTYPE, link="../outside/file")],
        "hardlink-other-section": [member("instance/link", tarfile.LNKTYPE,
                                          link="image/rootfs/bin/busybox")],
        "device": [member("instance/upper/null", tarfile.CHRTYPE, device=(1, 3))],
        "outside": [member("elsewhere/file", data=b"x")],
        "out-of-order": [member("instance/x", data=b"x"), member("image/y", data=b"y")],
    }
    for name, members in hostile.items():
        put("backup", name, backup(image + instance[:2] + members))
    put("backup", "more-data-than-declared",
        backup(image + instance + [member("instance/upper/big", data=b"z" * 4096)],
               data_bytes=16))


def http():
    """http_fuzz.cpp: a limits byte, then the connection's bytes in pieces (a length byte - 1)."""
    def pieces(small_limits, stream, size=64):
        out = bytes([small_limits])
        for i in range(0, len(stream), size):
            piece = stream[i:i + size]
            out += bytes([len(piece) - 1]) + piece
        return out

    get = b"GET /1.0/instances?recursion=1 HTTP/1.1\r\nHost: vessel\r\n\r\n"
    body = b'{"name":"c1","source":{"alias":"busybox"}}'
    post = (b"POST /1.0/instances HTTP/1.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
    close = b"GET /1.0/instances/c%31/state HTTP/1.1\r\nConnection: close\r\n\r\n"
    upgrade = (b"POST /1.0/instances/v1/exec HTTP/1.1\r\nConnection: Upgrade\r\n"
               b"Upgrade: vessel-frames\r\nContent-Length: 21\r\n\r\n"
               b'{"command":["uname"]}' + bytes([1, 2, 3]))
    put("http", "get", pieces(0, get))
    put("http", "keep-alive", pieces(0, post + get + close, 17))
    put("http", "upgrade", pieces(1, upgrade, 200))
    put("http", "bare-lf", pieces(0, b"GET / HTTP/1.1\nHost: x\n\n"))


def translator():
    """riscv_translator: a set-up seed (u32), then instruction words (a compressed one in the low
    half of its word)."""
    def r(opcode, rd, funct3, rs1, rs2, funct7):
        return funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode

    def i(opcode, rd, funct3, rs1, imm):
        return (imm & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode

    def s(opcode, funct3, rs1, rs2, imm):
        imm &= 0xfff
        return (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 0x1f) << 7 | opcode

    def u(opcode, rd, imm20):
        return (imm20 & 0xfffff) << 12 | rd << 7 | opcode

    def words(seed, instructions):
        return struct.pack("<I", seed) + b"".join(struct.pack("<I", w) for w in instructions)

    alu = [i(0x13, 5, 0, 0, 123), i(0x13, 6, 1, 5, 7), r(0x33, 7, 0, 5, 6, 0), r(0x33, 8, 0, 7, 5, 0x20),
           r(0x33, 9, 0, 7, 8, 1), r(0x33, 10, 4, 9, 5, 1), r(0x33, 11, 6, 9, 0, 1),
           r(0x3b, 12, 0, 9, 5, 0), r(0x3b, 13, 0, 12, 12, 1), i(0x1b, 14, 5, 13, 0x400 | 3)]
    put("riscv_translator", "alu", words(1, alu))
    # auipc x6 lands in the data pages (code at RAM + 0x10000, data at RAM + 0x20000).
    memory = [u(0x17, 6, 0x10), i(0x13, 5, 0, 0, -5), s(0x23, 3, 6, 5, 8), i(0x03, 7, 3, 6, 8),
              i(0x03, 8, 2, 6, 8), i(0x03, 9, 4, 6, 9), s(0x23, 0, 6, 9, 17),
              r(0x2f, 10, 3, 6, 5, 0x00 << 2), r(0x2f, 11, 3, 6, 0, 0x02 << 2),
              r(0x2f, 12, 3, 6, 7, 0x03 << 2), i(0x03, 13, 3, 6, 0x7ff)]
    put("riscv_translator", "memory", words(2, memory))
    # fcvt.d.l, fadd.d, fmul.d, fsqrt.d, fmadd.d, feq.d, fcvt.l.d
    fp = [i(0x13, 5, 0, 0, 3), r(0x53, 1, 7, 5, 2, 0x69), r(0x53, 2, 7, 1, 1, 0x01),
          r(0x53, 3, 7, 2, 1, 0x09), r(0x53, 4, 7, 3, 0, 0x2d), 3 << 27 | 1 << 25 | 2 << 20 | 1 << 15 | 7 << 12 | 5 << 7 | 0x43,
          r(0x53, 6, 2, 4, 3, 0x51), r(0x53, 7, 1, 4, 2, 0x61)]
    put("riscv_translator", "float", words(3, fp))
    compressed = [0x4515, 0x0505, 0x85aa, 0x952e, 0x0512, 0x8d0d, 0x4601, 0x0001]  # c.li, c.addi, c.mv, c.add, c.slli, c.sub
    put("riscv_translator", "compressed", words(4, compressed))
    # A store into the body ahead, then fence.i, then the rewritten instruction runs.
    self_modifying = [u(0x17, 6, 0), i(0x13, 5, 0, 0, 77), i(0x13, 7, 0, 0, 0), s(0x23, 2, 6, 7, 24),
                      0x0000100f, i(0x13, 8, 0, 0, 1), i(0x13, 9, 0, 0, 2)]
    put("riscv_translator", "self_modifying", words(5, self_modifying))


def rest_requests():
    """rest_requests_fuzz.cpp: which parser (u32, modulo 9), then the request body (or, for 8,
    the query value); one well-formed request per parser, two for the launch."""
    bodies = [
        ("launch", 0, '{"name":"web1","source":{"alias":"debian/12"},"type":"container",'
                      '"config":{"limits.memory":"256MiB","limits.cpu":"0.5","limits.processes":"100"},'
                      '"start":true}'),
        ("launch_vm", 0, '{"name":"vm1","image":"riscv","type":"vm",'
                         '"config":{"limits.disk":"2GiB","boot.agent_timeout":"30"},"start":false}'),
        ("config_patch", 1, '{"config":{"limits.memory":"1GiB","limits.cpu":null}}'),
        ("state", 2, '{"action":"stop","timeout":10,"force":false}'),
        ("exec", 3, '{"command":["sh","-c","cat"],"stdin_base64":"aGk="}'),
        ("exec_stream", 4, '{"command":["ls","-l"],"environment":{"TERM":"xterm"},"cwd":"/root",'
                           '"user":0,"group":0,"interactive":true,"width":120,"height":40}'),
        ("image_vm", 5, '{"type":"vm","alias":"k","kernel":"/k","initrd":"/i","disk":"/d",'
                        '"append":"console=ttyS0 quiet","agent":true}'),
        ("image_build", 5, '{"type":"build","distribution":"debian/12","alias":"d","vm":true,'
                           '"architecture":"riscv64"}'),
        ("push", 7, '{"path":"/etc/motd","mode":420,"uid":0,"gid":0,"parents":true,'
                    '"content_base64":"aGVsbG8K"}'),
        ("query", 8, "3600"),
    ]
    for name, which, body in bodies:
        put("rest_requests", name, struct.pack("<I", which) + body.encode())


def main():
    http()
    blk()
    net()
    vsock()
    rng()
    console()
    mmio()
    virtqueue()
    loaders()
    registers()
    archives()
    backups()
    translator()
    rest_requests()


if __name__ == "__main__":
    sys.exit(main())
