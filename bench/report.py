#!/usr/bin/python3
"""Gathers one bench/run into a results file, a Markdown report and PNG plots.

    bench/report.py --run-dir build/bench/runs/<stamp> --out bench/results/<date>-<host>

writes <out>.json (everything measured), <out>.md (each figure beside the limit it is measured
against, as a ratio, and each issue-6 target marked met or MISSED), <out>-throughput.png and
<out>-latency.png and, when the e2e cells recorded a timeline, <out>-timeline.png. Standard library and matplotlib only (Debian's python3-matplotlib).

Units: rb-load counts payload bytes; MB = 1e6 bytes and GB = 1e9 bytes everywhere, as rb-load does.
"""

import argparse
import csv
import json
import os
import re
import sys

MB = 1e6
PRODUCE_TARGET_US = 2000  # issue 6: p99 produce latency (acks=1) at 50% of the peak
E2E_TARGET_US = 5000      # issue 6: end-to-end p99 at 50% of the peak


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_meta(run_dir):
    meta = {}
    for line in (read_text(os.path.join(run_dir, "meta.env")) or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            meta[key] = value
    return meta


# ---- Machine limits -------------------------------------------------------------------------------

def iperf_summary(doc):
    if not doc or "end" not in doc or "error" in doc:
        return None
    received = doc["end"].get("sum_received", {})
    cpu = doc["end"].get("cpu_utilization_percent", {})
    # The receiving side's own CPU (iperf3's server: user + system) per GB: what the kernel charges a
    # process for taking a GB off a loopback socket, as the broker does with produced data.
    receiver_cpu_s_per_gb = None
    if received.get("bytes") and received.get("seconds") and "remote_total" in cpu:
        receiver_cpu_s_per_gb = cpu["remote_total"] / 100 * received["seconds"] / (received["bytes"] / 1e9)
    return {
        "bytes_per_sec": received.get("bits_per_second", 0) / 8,
        "seconds": received.get("seconds"),
        "bytes": received.get("bytes"),
        "retransmits": doc["end"].get("sum_sent", {}).get("retransmits"),
        "sender_cpu_percent": cpu.get("host_total"),
        "receiver_cpu_percent": cpu.get("remote_total"),
        "receiver_cpu_s_per_gb": receiver_cpu_s_per_gb,
        "version": doc.get("start", {}).get("version"),
    }


def fio_summary(doc):
    if not doc or not doc.get("jobs"):
        return None
    job = doc["jobs"][0]
    write = job["write"]
    sync = job.get("sync", {})
    # fio's own CPU (percent of its runtime): what the kernel charges a process for writing these
    # bytes through write(), the floor under the broker's CPU per GB produced.
    cpu_s_per_gb = None
    if write.get("io_bytes") and write.get("runtime") and job.get("usr_cpu") is not None:
        cpu_s = (job["usr_cpu"] + job["sys_cpu"]) / 100 * write["runtime"] / 1000
        cpu_s_per_gb = cpu_s / (write["io_bytes"] / 1e9)
    return {
        "bytes_per_sec": write.get("bw_bytes"),
        "bytes": write.get("io_bytes"),
        "usr_cpu_percent": job.get("usr_cpu"),
        "sys_cpu_percent": job.get("sys_cpu"),
        "cpu_s_per_gb": cpu_s_per_gb,
        "runtime_ms": write.get("runtime"),
        "iops": write.get("iops"),
        "write_latency_ns": {k: write.get("clat_ns", {}).get("percentile", {}).get(k)
                             for k in ("50.000000", "99.000000", "99.900000")},
        "sync_latency_ns": {k: sync.get("lat_ns", {}).get("percentile", {}).get(k)
                            for k in ("50.000000", "99.000000", "99.900000")} if sync else None,
        "options": job.get("job options"),
        "version": doc.get("fio version"),
    }


def memcpy_summary(doc):
    out = {}
    for bench in (doc or {}).get("benchmarks", []):
        match = re.match(r"BM_MemcpyBandwidth/(\d+)", bench.get("name", ""))
        if match and "bytes_per_second" in bench:
            out[int(match.group(1))] = bench["bytes_per_second"]
    return out


def gather_limits(run_dir):
    d = os.path.join(run_dir, "limits")
    iperf = iperf_summary(load_json(os.path.join(d, "iperf3.json")))
    iperf_zc = iperf_summary(load_json(os.path.join(d, "iperf3-zerocopy.json")))
    # The same with cubic, where the machine's congestion control is another (runs since 2026-12-04).
    iperf_cubic = iperf_summary(load_json(os.path.join(d, "iperf3-cubic.json")))
    iperf_zc_cubic = iperf_summary(load_json(os.path.join(d, "iperf3-zerocopy-cubic.json")))
    # The idle machine's wake-up delay (runs since 2026-12-07): rb-load probe, no broker.
    idle_probe = load_json(os.path.join(d, "wakeup-idle.json")) or {}
    fio_buffered = fio_summary(load_json(os.path.join(d, "fio-buffered.json")))
    fio_end_fsync = fio_summary(load_json(os.path.join(d, "fio-buffered-end-fsync.json")))
    fio_sustained = fio_summary(load_json(os.path.join(d, "fio-buffered-sustained.json")))
    fio_fdatasync = fio_summary(load_json(os.path.join(d, "fio-fdatasync.json")))
    fio_direct = fio_summary(load_json(os.path.join(d, "fio-direct.json")))
    memcpy = memcpy_summary(load_json(os.path.join(d, "memcpy.json")))
    big = max(memcpy) if memcpy else None
    small = min(memcpy) if memcpy else None

    def bps(summary):
        return summary["bytes_per_sec"] if summary else None

    return {
        "loopback_tcp_bytes_per_sec": bps(iperf),
        "loopback_tcp_sendfile_bytes_per_sec": bps(iperf_zc),
        "loopback_tcp_receive_cpu_s_per_gb": iperf["receiver_cpu_s_per_gb"] if iperf else None,
        "loopback_tcp_cubic_bytes_per_sec": bps(iperf_cubic),
        "loopback_tcp_sendfile_cubic_bytes_per_sec": bps(iperf_zc_cubic),
        "idle_wakeup_late_us": (idle_probe.get("wakeup_probe") or {}).get("late_us"),
        "idle_wakeup_seconds": idle_probe.get("seconds"),
        "disk_buffered_write_bytes_per_sec": bps(fio_buffered),
        "disk_buffered_end_fsync_write_bytes_per_sec": bps(fio_end_fsync),
        "disk_fdatasync_write_bytes_per_sec": bps(fio_fdatasync),
        "disk_buffered_write_cpu_s_per_gb": fio_buffered["cpu_s_per_gb"] if fio_buffered else None,
        # As long as the sustained produce cell (absent from runs before this figure existed).
        "disk_buffered_sustained_write_bytes_per_sec": bps(fio_sustained),
        "disk_buffered_sustained_write_cpu_s_per_gb": fio_sustained["cpu_s_per_gb"] if fio_sustained else None,
        "disk_buffered_sustained_write_bytes": fio_sustained["bytes"] if fio_sustained else None,
        "disk_buffered_sustained_write_seconds": (fio_sustained["runtime_ms"] or 0) / 1000 if fio_sustained else None,
        # O_DIRECT, no page cache (absent from runs before this figure existed).
        "disk_direct_write_bytes_per_sec": bps(fio_direct),
        "disk_direct_write_cpu_s_per_gb": fio_direct["cpu_s_per_gb"] if fio_direct else None,
        "disk_direct_write_seconds": (fio_direct["runtime_ms"] or 0) / 1000 if fio_direct else None,
        "memcpy_bytes_per_sec": memcpy.get(big) if big else None,
        "memcpy_buffer_bytes": big,
        "memcpy_in_cache_bytes_per_sec": memcpy.get(small) if small and small != big else None,
        "memcpy_in_cache_buffer_bytes": small if small != big else None,
        "details": {
            "iperf3": iperf, "iperf3_sendfile": iperf_zc,
            "iperf3_cubic": iperf_cubic, "iperf3_sendfile_cubic": iperf_zc_cubic,
            "fio_buffered": fio_buffered, "fio_buffered_end_fsync": fio_end_fsync,
            "fio_buffered_sustained": fio_sustained,
            "fio_fdatasync": fio_fdatasync,
            "fio_direct": fio_direct,
        },
    }


# ---- Cells, microbenchmarks, profile -------------------------------------------------------------

def read_segment_births(path):
    """bench/run's segment_births: the cell's segment files and when each was created."""
    births = []
    for line in (read_text(path) or "").splitlines():
        name, _, birth = line.partition("\t")
        partition = os.path.basename(os.path.dirname(name)).rpartition("-")[2]
        base = os.path.basename(name)[:-len(".log")]
        try:
            births.append({"partition": int(partition), "base_offset": int(base), "birth_unix_s": float(birth)})
        except ValueError:
            continue
    return births


# A window of the timeline counts as in a roll's wake when it starts from one window before a
# segment's creation to this long after it: on the 2-vCPU VM of the committed runs, the worst
# latency rose within 0.2 s of a 1 GiB roll and was back under a few ms within about 1 s.
ROLL_WAKE_S = 1.5


def tail_in_time(cell, threshold_us):
    """When an e2e cell's tail happened: its timeline's windows over threshold_us, and which of them
    fall in the wake of a segment roll. None without a timeline."""
    r = cell["result"] or {}
    timeline = r.get("timeline") or {}
    windows = timeline.get("e2e")
    if not windows:
        return None
    window_s = timeline["window_ms"] / 1000
    start = timeline["start_unix_s"]
    births = cell.get("segment_births") or []
    # Each cell has a topic of its own, so every segment but a partition's first is a roll in it.
    # A roll during the warm-up counts while its wake reaches into the measured interval.
    rolls = sorted(b["birth_unix_s"] - start for b in births
                   if b["base_offset"] > 0 and b["birth_unix_s"] > 0 and b["birth_unix_s"] - start > -ROLL_WAKE_S)
    known = bool(births) and all(b["birth_unix_s"] > 0 for b in births)

    def in_wake(t):
        return any(roll - window_s <= t <= roll + ROLL_WAKE_S for roll in rolls)

    total = sum(count for count, _ in windows)
    slow = [(i * window_s, count, worst) for i, (count, worst) in enumerate(windows) if worst > threshold_us]
    slow_in_wake = [w for w in slow if in_wake(w[0])]
    outside = [(count, worst) for i, (count, worst) in enumerate(windows) if not in_wake(i * window_s)]
    outside_total = sum(count for count, _ in outside)
    outside_slow = sum(count for count, worst in outside if worst > threshold_us)
    worst = max(slow, key=lambda w: w[2]) if slow else None
    return {
        "threshold_us": threshold_us,
        "window_s": window_s,
        "birth_times_known": known,
        "rolls_s": rolls,
        "messages": total,
        "slow_windows": len(slow),
        "slow_messages": sum(w[1] for w in slow),
        "slow_windows_in_roll_wake": len(slow_in_wake),
        "slow_messages_in_roll_wake": sum(w[1] for w in slow_in_wake),
        # Outside the rolls' wake, no more than this share of messages can be over the threshold:
        # every message over it was sent in a window whose worst is over it.
        "outside_wake_messages": outside_total,
        "outside_wake_at_most_over": outside_slow / outside_total if outside_total else None,
        "worst_window": {"at_s": worst[0], "worst_us": worst[2]} if worst else None,
    }


def gather_cells(run_dir):
    cells = []
    path = os.path.join(run_dir, "cells.tsv")
    if not os.path.exists(path):
        return cells
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            result = load_json(row["file"])
            text = read_text(row["file"][:-len(".json")] + ".txt") or ""
            cells.append({
                "smp": int(row["smp"]),
                "name": row["name"],
                "mode": row["mode"],
                "acks": row["acks"],
                "message_size": int(row["size"]),
                "partitions": int(row["partitions"]),
                "seconds_asked": float(row["seconds"]) if row["seconds"] else None,
                "target_rate": float(row["rate"]) if row["rate"] else None,
                "exit_status": int(row["rc"]),
                "result": result,
                "segment_births": read_segment_births(row["file"][:-len(".json")] + ".segments.tsv"),
                # The tail of the text output says why a cell failed; kept only then.
                "output_tail": None if int(row["rc"]) == 0 and result else text[-2000:],
            })
    return cells


def gather_memory(run_dir):
    """Per measurement: the free memory filled with page cache before it, and what went back to the
    host while it ran (memory.tsv; absent from runs before bench/run filled memory)."""
    out = {}
    path = os.path.join(run_dir, "memory.tsv")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out[row["label"]] = {
                "filled_bytes": int(row["filled_bytes"]),
                "fill_seconds": float(row["fill_seconds"]),
                "mem_free_kib": int(row["mem_free_kib"]),
                "returned_to_host_kib": int(row["reported_kib"]),
            }
    return out


def gather_micro(run_dir):
    d = os.path.join(run_dir, "micro")
    out = {}
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            doc = load_json(os.path.join(d, name))
            target = name[:-len(".json")]
            out[target] = doc if doc else {"error": (read_text(os.path.join(d, target + ".err")) or "")[-2000:]}
    return out


def top_symbols(report_text, limit=15):
    rows = []
    for line in (report_text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if match:
            # Newer perf appends IPC columns ("-  -" without LBR data); they are not part of the name.
            symbol = re.sub(r"(\s+-)+\s*$", "", match.group(2)).strip()
            rows.append({"percent": float(match.group(1)), "symbol": symbol})
        if len(rows) == limit:
            break
    return rows


def gather_profile(run_dir, meta):
    d = os.path.join(run_dir, "perf")
    out = {"perf_usable": meta.get("perf_usable") == "1", "by_smp": {}, "reads": []}
    # Consume topics read once more under perf record (runs since 2026-12-07): smp<N>-<label>-report.txt.
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        m = re.fullmatch(r"smp(\d+)-(consume-.+)-report\.txt", name)
        if not m:
            continue
        smp, label = int(m.group(1)), m.group(2)
        load = load_json(os.path.join(d, f"smp{smp}-{label}-load.json"))
        out["reads"].append({
            "smp": smp, "label": label,
            "top_symbols": top_symbols(read_text(os.path.join(d, name))),
            "record_output": (read_text(os.path.join(d, f"smp{smp}-{label}-record.txt")) or "").strip()[-1000:],
            "load_during_profile": {k: load.get(k) for k in ("messages", "msgs_per_sec", "mb_per_sec",
                                                              "broker_cpu_s_per_gb")} if load else None,
        })
    for smp in (1, 2):
        stat = read_text(os.path.join(d, f"smp{smp}-stat.txt"))
        report = read_text(os.path.join(d, f"smp{smp}-report.txt"))
        load = load_json(os.path.join(d, f"smp{smp}-load.json"))
        if stat is None and report is None:
            continue
        out["by_smp"][str(smp)] = {
            "perf_stat": stat.strip() if stat else None,
            "top_symbols": top_symbols(report),
            "record_output": (read_text(os.path.join(d, f"smp{smp}-record.txt")) or "").strip()[-1000:],
            "load_during_profile": {k: load.get(k) for k in ("msgs_per_sec", "mb_per_sec", "broker_cpu_s_per_gb")}
            if load else None,
        }
    return out


# ---- Targets --------------------------------------------------------------------------------------

def congestion_control(cell, settings):
    """The TCP congestion control a cell's connections had: the comparison one for `*-cc-*` cells."""
    if "-cc-" in cell["name"]:
        return settings.get("tcp_congestion_control_compare") or "—"
    return settings.get("tcp_congestion_control") or "—"


def find_cell(cells, smp, name):
    for cell in cells:
        if cell["smp"] == smp and cell["name"] == name and cell["result"]:
            return cell
    return None


def e2e_share_of_peak(cells, cell):
    """A rate-limited e2e cell's target rate as a share of its e2e-peak cell's achieved rate."""
    peak = find_cell(cells, cell["smp"], f"e2e-peak-acks1-1024B-p{cell['partitions']}")
    if not cell["target_rate"] or not peak or not (peak["result"] or {}).get("msgs_per_sec"):
        return None
    return cell["target_rate"] / peak["result"]["msgs_per_sec"]


def bytes_per_sec(result):
    if not result or not result.get("seconds"):
        return None
    return result["bytes"] / result["seconds"]


def receive_write_floor(limits):
    """iperf3's receiving CPU-s per GB plus fio's write() CPU-s per GB: what the kernel charges any
    process here for taking a GB off a loopback socket and writing it, or None when either is missing."""
    receive = limits.get("loopback_tcp_receive_cpu_s_per_gb")
    write = limits.get("disk_buffered_write_cpu_s_per_gb")
    return receive + write if receive and write else None


def evaluate_targets(cells, limits, cpus=None):
    """Each issue-6 target, per shard count and partition count, with its ratio and verdict. `cpus` is
    the machine's CPU count, for the load tool's own share of it."""
    targets = []

    def add(target, smp, partitions, cell, measured, limit, limit_name, threshold, kind, unit):
        ratio = None
        met = None
        if measured is not None and limit:
            ratio = measured / limit
            met = ratio >= threshold if kind == "ratio_at_least" else None
        if kind == "at_most" and measured is not None:
            met = measured <= threshold
        if kind == "below" and measured is not None:
            met = measured < threshold
        targets.append({
            "target": target, "smp": smp, "partitions": partitions,
            "cell": cell["name"] if cell else None,
            "measured": measured, "unit": unit, "limit": limit, "limit_name": limit_name,
            "ratio": ratio, "threshold": threshold, "kind": kind, "met": met,
            "out_of_reach_here": out_of_reach(target, cell, limit, threshold, kind),
        })

    def out_of_reach(target, cell, limit, threshold, kind):
        """Why no broker could meet this target on this machine, from this run's own limits, or None."""
        if target.startswith("produce acks=1") and kind == "ratio_at_least" and limit:
            needed, loopback = threshold * limit, limits.get("loopback_tcp_bytes_per_sec")
            # Every produced byte crosses loopback TCP from the load tool to the broker.
            if loopback and needed > loopback:
                return (f"it asks for {fmt_rate(needed)}, and loopback TCP, which every produced byte "
                        f"crosses, carried {fmt_rate(loopback)} in this run (iperf3, one stream)")
            # The load tool shares the machine: the CPU its producer spends per GB, at the rate the
            # target asks for, must fit in the machine beside the broker's. Its cost is per message
            # (librdkafka's produce(), batching, delivery reports), and its batches are full in this
            # unbounded cell, so it does not fall at a higher rate.
            result = (cell or {}).get("result") or {}
            load_s, moved = result.get("load_cpu_seconds"), result.get("bytes")
            if cpus and load_s and moved:
                load_per_gb = load_s / (moved / 1e9)
                load_cpus = load_per_gb * needed / 1e9
                if load_cpus > cpus:
                    return (f"it asks for {fmt_rate(needed)}, and the load tool's producer alone spent "
                            f"{load_per_gb:.2f} CPU-s per GB in this cell: {load_cpus:.1f} CPUs at that "
                            f"rate, before any broker, on a machine of {cpus}")
        floor = receive_write_floor(limits)
        if kind == "at_most" and target.startswith("broker CPU") and floor and floor > threshold:
            return (f"the kernel alone charged {floor:.3f} CPU-s per GB here for taking a GB off a "
                    f"loopback socket (iperf3, {limits['loopback_tcp_receive_cpu_s_per_gb']:.3f}) and "
                    f"writing it (fio's write(), {limits['disk_buffered_write_cpu_s_per_gb']:.3f}), which a "
                    f"broker must do with every GB produced")
        return None

    for smp in (1, 2):
        for parts in (1, 64):
            cell = find_cell(cells, smp, f"produce-acks1-1024B-p{parts}")
            # The 60 s cell against fio writing for as long; a burst rate when that was not measured.
            if limits.get("disk_buffered_sustained_write_bytes_per_sec"):
                buffered, buffered_name = (limits["disk_buffered_sustained_write_bytes_per_sec"],
                                           "fio buffered write, sustained")
            else:
                buffered, buffered_name = limits["disk_buffered_write_bytes_per_sec"], "fio buffered write"
            add("produce acks=1 1 KiB sustained >= 90% of the disk's buffered sequential write", smp, parts,
                cell, bytes_per_sec(cell and cell["result"]), buffered, buffered_name, 0.9, "ratio_at_least", "B/s")
            cell = find_cell(cells, smp, f"produce-acksall-1024B-p{parts}")
            add("produce acks=all 1 KiB >= 80% of fio write with fdatasync", smp, parts,
                cell, bytes_per_sec(cell and cell["result"]), limits["disk_fdatasync_write_bytes_per_sec"],
                "fio write+fdatasync", 0.8, "ratio_at_least", "B/s")
            # A run whose rmem_max allowed no fixed receive buffer has only the default's cell.
            cell = (find_cell(cells, smp, f"consume-1024B-p{parts}") or
                    find_cell(cells, smp, f"consume-rcvbuf-default-1024B-p{parts}"))
            add("consume from the page cache >= 70% of loopback TCP", smp, parts,
                cell, bytes_per_sec(cell and cell["result"]), limits["loopback_tcp_bytes_per_sec"],
                "iperf3 loopback", 0.7, "ratio_at_least", "B/s")
            cell = find_cell(cells, smp, f"produce-acks1-1024B-p{parts}")
            add("broker CPU <= 0.3 CPU-s per GB produced (1 KiB, acks=1)", smp, parts, cell,
                cell["result"].get("broker_cpu_s_per_gb") if cell else None,
                None, None, 0.3, "at_most", "CPU-s/GB")
            cell = find_cell(cells, smp, f"e2e-acks1-1024B-p{parts}")
            p99 = cell["result"].get("latency_us", {}).get("p99") if cell else None
            add("p99 produce latency (acks=1) < 2 ms at 50% of the peak rate", smp, parts, cell,
                p99, None, None, PRODUCE_TARGET_US, "below", "us")
            e2e_p99 = cell["result"].get("e2e_latency_us", {}).get("p99") if cell else None
            add("end-to-end p99 < 5 ms at 50% of the peak rate", smp, parts, cell,
                e2e_p99, None, None, E2E_TARGET_US, "below", "us")
    return targets


# ---- Formatting -----------------------------------------------------------------------------------

def cpu_split(result):
    """Broker, load tool, everything else and idle as shares of the machine's CPU time, or None."""
    if not result:
        return None
    total, busy = result.get("machine_total_cpu_seconds"), result.get("machine_busy_cpu_seconds")
    broker, load = result.get("broker_cpu_seconds"), result.get("load_cpu_seconds")
    if not total or busy is None or broker is None or load is None:
        return None
    return (broker / total, load / total, (busy - broker - load) / total, (total - busy) / total)


def fmt_rate(bps):
    return "—" if bps is None else f"{bps / MB:,.1f} MB/s"


def fmt_ratio(ratio):
    return "—" if ratio is None else f"{ratio:.2f}"


def fmt_num(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_seconds(measured, asked):
    """A measurement's length: what it ran for when known (fio stops early at its file size)."""
    return f"{measured:.0f} s" if measured else f"{asked} s"


def fmt_us(value):
    if value is None:
        return "—"
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def verdict(met):
    return "not measured" if met is None else ("met" if met else "**MISSED**")


def ratio(a, b):
    return a / b if a is not None and b else None


def size_label(size):
    return {100: "100 B", 1024: "1 KiB", 16384: "16 KiB"}.get(size, f"{size} B")


def read_profiles_markdown(reads, settings):
    """The consume topics read again under perf record: per shard count and partition count, the
    broker's top symbols with the machine's congestion control beside those with the comparison one."""
    lines = []
    groups = {}
    for read in reads:
        parts = re.search(r"-p(\d+)$", read["label"])
        cc = re.match(r"consume-cc-([^-]+)-", read["label"])
        key = (read["smp"], int(parts.group(1)) if parts else 0)
        cc_name = cc.group(1) if cc else (settings.get("tcp_congestion_control") or "the machine's")
        groups.setdefault(key, []).append((cc_name, read))
    for (smp, parts), runs in sorted(groups.items()):
        lines.append(f"### --smp {smp}: consume from the page cache, {parts} partition"
                     f"{'s' if parts != 1 else ''}, profiled apart from the measured cells")
        lines.append("")
        lines.append("The topic of the consume cells read once more, with the first cell's consumer settings, "
                     "while `perf record -g` samples the broker (perf itself costs some of it):")
        lines.append("")
        for cc_name, read in runs:
            ld = read.get("load_during_profile") or {}
            lines.append(f"- congestion control {cc_name}: {fmt_num(ld.get('mb_per_sec'))} MB/s, broker "
                         f"{fmt_num(ld.get('broker_cpu_s_per_gb'), 3)} CPU-s/GB"
                         + ("" if read["top_symbols"] else " (no samples: "
                            + ((read.get("record_output") or "nothing").strip().splitlines() or ["nothing"])[-1]
                            + ")"))
        lines.append("")
        runs = [(cc_name, read) for cc_name, read in runs if read["top_symbols"]]
        if not runs:
            continue
        # The symbols of every profile in the group, in the order of the first one's self time.
        symbols = []
        for _, read in runs:
            symbols += [row["symbol"] for row in read["top_symbols"] if row["symbol"] not in symbols]
        lines.append("Top 15 symbols of each (self %, `perf report --no-children --sort symbol`; — where a "
                     "symbol is not among that profile's top 15):")
        lines.append("")
        lines.append("| symbol | " + " | ".join(f"{cc_name}" for cc_name, _ in runs) + " |")
        lines.append("|---|" + "---|" * len(runs))
        for symbol in symbols:
            cells = []
            for _, read in runs:
                found = [row["percent"] for row in read["top_symbols"] if row["symbol"] == symbol]
                cells.append(f"{found[0]:.2f}" if found else "—")
            lines.append(f"| `{symbol}` | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def markdown(doc, base_name):
    meta, limits, cells = doc["machine"], doc["limits"], doc["cells"]
    lines = []
    add = lines.append
    add(f"# Ringbroker benchmark — {doc['date']}, {meta['host']} ({doc['mode']} run)")
    add("")
    add(f"Commit `{doc['git_commit']}`{' (with uncommitted changes)' if doc.get('git_dirty') == 'yes' else ''}; "
        f"{meta['cpu_model']}, {meta['cpus']} CPUs, {int(meta['memory_kib']) // 1024} MiB RAM; "
        f"kernel {meta['kernel']}; data on {meta['data_fs']}. Load tool and broker share the machine. "
        f"Run {doc['started']} to {doc['finished']}.")
    memory = doc.get("memory") or {}
    reporting = meta.get("free_page_reporting") == "yes"
    if reporting:
        order = meta.get("free_page_reporting_order")
        block = f" in blocks of {(4 << int(order)) // 1024} MiB" if order and order.isdigit() else ""
        host = f" ({meta['hypervisor']})" if meta.get("hypervisor") else ""
        add("")
        add(f"This machine hands the memory it frees back to its host{host}{block} (free page reporting), "
            f"and the first touch of such memory afterwards is slow: a new page-cache page taken from free "
            f"memory costs more CPU than one reclaimed from the page cache.")
        before = meta.get("free_page_reporting_delay_ms")
        during = meta.get("free_page_reporting_delay_ms_run")
        if during and before and during != before:
            add("")
            add(f"For this run a freed block waited {int(during) / 1000:.0f} s in the guest before it could be "
                f"handed to the host (`min_free_ms` of page_reporting: {during}, {before} before and after the run), "
                f"so memory the kernel reclaims under load is reused as a server's kernel reuses it, not "
                f"re-faulted from the host (`bench/run --reporting-as-is` leaves the delay alone).")
        elif before:
            add("")
            add(f"The delay before a freed block is handed to the host was left as it was "
                f"(`min_free_ms` {before}).")
    filled = sum(m["filled_bytes"] for m in memory.values())
    if meta.get("memory_filled") == "1" and memory:
        fill_s = sum(m["fill_seconds"] for m in memory.values())
        add("")
        add(f"Memory as a long-running server has it: before each measurement (every fio job and every cell) "
            f"bench/run filled the free memory with clean page-cache pages (reading a sparse file; "
            f"{filled / 1e9:.1f} GB in {fill_s:.0f} s over the run, the first touch of each page included), "
            f"so new pages are reclaimed ones, for fio "
            f"and the broker alike." + (" The table of CPU shares gives, per cell, how much memory went back "
                                        "to the host while it ran." if reporting else ""))
    elif meta.get("memory_filled") == "0":
        add("")
        add("Measured with memory as it was (`--memory-as-is`): new page-cache pages come from free memory "
            "until it runs out.")
    add("")
    s = doc["settings"]
    warmup = (f" after {s['e2e_warmup_s']} s of unmeasured warm-up traffic at the cell's rate"
              if s.get("e2e_warmup_s") not in (None, "0") else "")
    add(f"Producer batch.size {s['batch_bytes']} B (fio writes blocks of the same size), linger.ms "
        f"{s['linger_ms']} for throughput cells and {s.get('e2e_linger_ms', '0')} for latency cells, "
        f"`{s.get('client_args') or 'librdkafka defaults'}`; produce acks=1 1 KiB on one partition "
        f"runs {s['sustained_s']} s, other produce and e2e cells {s['cell_s']} s{warmup}; consume reads back "
        f"{int(s['fill_bytes']) / 1e9:.1f} GB just written (so from the page cache). MB = 10^6 B, GB = 10^9 B; "
        f"throughput counts message payload bytes.")
    add("")

    add("## Machine limits (measured in this run)")
    add("")
    add("| limit | measured | how |")
    add("|---|---|---|")
    add(f"| loopback TCP | {fmt_rate(limits['loopback_tcp_bytes_per_sec'])} | iperf3, 127.0.0.1, one stream |")
    add(f"| loopback TCP, sendfile | {fmt_rate(limits['loopback_tcp_sendfile_bytes_per_sec'])} | iperf3 -Z |")
    # Measured only where the machine's congestion control is not cubic.
    for key, label, how in (("loopback_tcp_cubic_bytes_per_sec", "loopback TCP, cubic",
                             f"iperf3, congestion control cubic instead of the machine's "
                             f"{s.get('tcp_congestion_control')}"),
                            ("loopback_tcp_sendfile_cubic_bytes_per_sec", "loopback TCP, sendfile, cubic",
                             "iperf3 -Z, cubic")):
        if limits.get(key):
            add(f"| {label} | {fmt_rate(limits[key])} | {how} |")
    idle = limits.get("idle_wakeup_late_us")
    if idle and idle.get("count"):
        add(f"| wake-up delay of the idle machine | {fmt_us(idle['p50'])} at p50, {fmt_us(idle['p99'])} at p99, "
            f"{fmt_us(idle['p999'])} at p99.9, {fmt_us(idle['max'])} at most | `rb-load probe`: a thread sleeping "
            f"1 ms at a time, timer slack 1 ns, for {limits.get('idle_wakeup_seconds') or 0:.0f} s, nothing else "
            f"of the benchmark running |")
    add(f"| disk sequential write, buffered | {fmt_rate(limits['disk_buffered_write_bytes_per_sec'])} | "
        f"fio write(), bs {s['batch_bytes']}, no sync |")
    if limits.get("disk_buffered_sustained_write_bytes_per_sec"):
        written = limits.get("disk_buffered_sustained_write_bytes") or 0
        add(f"| disk sequential write, buffered, sustained | "
            f"{fmt_rate(limits['disk_buffered_sustained_write_bytes_per_sec'])} | "
            f"fio write(), bs {s['batch_bytes']}, no sync, for "
            f"{fmt_seconds(limits.get('disk_buffered_sustained_write_seconds'), s['sustained_s'])} "
            f"({written / 1e9:.1f} GB) |")
    if limits.get("disk_direct_write_bytes_per_sec"):
        add(f"| disk sequential write, O_DIRECT | {fmt_rate(limits['disk_direct_write_bytes_per_sec'])} | "
            f"fio, bs {s['batch_bytes']}, 8 in flight (io_uring), no page cache, for "
            f"{fmt_seconds(limits.get('disk_direct_write_seconds'), s['sustained_s'])} |")
    add(f"| disk sequential write, buffered + end fsync | "
        f"{fmt_rate(limits['disk_buffered_end_fsync_write_bytes_per_sec'])} | fio, fsync at the end counted |")
    add(f"| disk sequential write, fdatasync each block | {fmt_rate(limits['disk_fdatasync_write_bytes_per_sec'])} | "
        f"fio --fdatasync=1, bs {s['batch_bytes']} |")
    if limits.get("memcpy_bytes_per_sec"):
        add(f"| memcpy, {limits['memcpy_buffer_bytes'] >> 20} MiB buffers | {fmt_rate(limits['memcpy_bytes_per_sec'])} | "
            f"memcpy_bench |")
    if limits.get("memcpy_in_cache_bytes_per_sec"):
        add(f"| memcpy, {limits['memcpy_in_cache_buffer_bytes'] >> 20} MiB buffers (in cache) | "
            f"{fmt_rate(limits['memcpy_in_cache_bytes_per_sec'])} | memcpy_bench |")
    if limits.get("memcpy_bytes_per_sec"):
        two_copies = 2 * 1e9 / limits["memcpy_bytes_per_sec"]
        add("")
        add(f"Two memcpys of a GB cost {two_copies:.3f} s on this machine at the measured memcpy rate.")
    if limits.get("disk_buffered_write_cpu_s_per_gb") is not None:
        add("")
        add(f"fio's buffered write spent {limits['disk_buffered_write_cpu_s_per_gb']:.3f} CPU-s per GB written "
            f"(its own user + system time): what the kernel charges any process for putting a GB into new "
            f"page-cache pages here, before the broker does any work of its own.")
    if limits.get("loopback_tcp_receive_cpu_s_per_gb") is not None:
        add("")
        add(f"iperf3's receiving side spent {limits['loopback_tcp_receive_cpu_s_per_gb']:.3f} CPU-s per GB "
            f"taken off the loopback socket (its own user + system time; on loopback the sender's side runs "
            f"much of the receive path and pays for it). A broker receives each produced GB that way and "
            f"then writes it: the sum of the two is about the least its CPU per GB can be here, reading and "
            f"writing as these tools do.")
    if limits.get("disk_buffered_sustained_write_cpu_s_per_gb") is not None:
        add("")
        add(f"Writing for {fmt_seconds(limits.get('disk_buffered_sustained_write_seconds'), s['sustained_s'])}, "
            f"past what the page cache absorbs, fio spent "
            f"{limits['disk_buffered_sustained_write_cpu_s_per_gb']:.3f} CPU-s per GB. The CPU target's row is "
            f"held against this figure for the sustained cell.")
    if limits.get("disk_direct_write_cpu_s_per_gb") is not None:
        add("")
        add(f"Writing the same blocks with O_DIRECT (no page cache), fio spent "
            f"{limits['disk_direct_write_cpu_s_per_gb']:.3f} CPU-s per GB at "
            f"{fmt_rate(limits['disk_direct_write_bytes_per_sec'])}: the rest of the buffered figure is the "
            f"page cache's, which any broker writing through write() pays.")
    add("")

    add("## Targets (issue 6)")
    add("")
    add("The acks=1 target is held against fio's buffered write (the same write() calls the broker makes, no "
        "sync) for as long as the sustained cell runs; the produce table also gives each cell's ratio to the "
        "short buffered burst and to the buffered + end-fsync rate.")
    add("")
    add("| target | smp | partitions | measured | limit | ratio | verdict |")
    add("|---|---|---|---|---|---|---|")
    for t in doc["targets"]:
        if t["unit"] == "B/s":
            measured, limit = fmt_rate(t["measured"]), f"{fmt_rate(t['limit'])} ({t['limit_name']})"
            rat = f"{fmt_ratio(t['ratio'])} (≥ {t['threshold']:.2f})"
        elif t["unit"] == "us":
            measured, limit, rat = fmt_us(t["measured"]), f"< {fmt_us(t['threshold'])}", "—"
            cell = find_cell(cells, t["smp"], t["cell"]) if t["cell"] else None
            late = ((cell["result"].get("wakeup_probe") or {}).get("late_us") or {}) if cell else {}
            if late.get("p99") is not None:
                rat = (f"a 1 ms sleeper woke {fmt_us(late['p99'])} late at p99, {fmt_us(late.get('p999'))} "
                       f"at p99.9, {fmt_us(late.get('max'))} at most, in the same cell")
            idle = limits.get("idle_wakeup_late_us") or {}
            if idle.get("p99") is not None:
                rat += (f" ({fmt_us(idle['p99'])} at p99, {fmt_us(idle.get('p999'))} at p99.9 on the idle "
                        f"machine)")
        else:
            measured = "—" if t["measured"] is None else f"{t['measured']:.3f} CPU-s/GB"
            limit, rat = f"≤ {t['threshold']} CPU-s/GB", "—"
            memcpy = limits.get("memcpy_bytes_per_sec")
            parts = []
            if memcpy and t["measured"] is not None:
                parts.append(f"{t['measured'] / (2 * 1e9 / memcpy):.2f}× two memcpys")
            floor = limits.get("disk_buffered_write_cpu_s_per_gb")
            receive_write = receive_write_floor(limits)
            if receive_write and t["measured"] is not None:
                parts.append(f"{t['measured'] / receive_write:.2f}× iperf3's receive + fio's write() "
                             f"({limits['loopback_tcp_receive_cpu_s_per_gb']:.3f} + {floor:.3f})")
            if floor and t["measured"] is not None:
                parts.append(f"{t['measured'] / floor:.2f}× fio's write() ({floor:.3f})")
            sustained_floor = limits.get("disk_buffered_sustained_write_cpu_s_per_gb")
            # Only the sustained cell writes as long as that fio run; the others are short bursts.
            if sustained_floor and t["measured"] is not None and t["cell"] == "produce-acks1-1024B-p1":
                parts.append(f"{t['measured'] / sustained_floor:.2f}× fio's sustained write() "
                             f"({sustained_floor:.3f})")
            direct_floor = limits.get("disk_direct_write_cpu_s_per_gb")
            if direct_floor and t["measured"] is not None:
                parts.append(f"{t['measured'] / direct_floor:.2f}× fio's O_DIRECT write ({direct_floor:.3f})")
            rat = "; ".join(parts) or "—"
        mark = " (out of reach here)" if t["met"] is False and t.get("out_of_reach_here") else ""
        add(f"| {t['target']} | {t['smp']} | {t['partitions']} | {measured} | {limit} | {rat} | "
            f"{verdict(t['met'])}{mark} |")
    add("")
    beyond = {}  # target: [(smp, partitions, why)]
    for t in doc["targets"]:
        if t["met"] is False and t.get("out_of_reach_here"):
            beyond.setdefault(t["target"], []).append((t["smp"], t["partitions"], t["out_of_reach_here"]))
    if beyond:
        add("Out of reach on this machine whatever the broker does, by this run's own measurements:")
        add("")
        for target, rows in beyond.items():
            if len({why for _, _, why in rows}) == 1:
                add(f"- {target}: {rows[0][2]}.")
                continue
            for smp, parts, why in rows:
                add(f"- {target} (smp {smp}, {parts} partition{'s' if parts != 1 else ''}): {why}.")
        add("")

    add("## Produce")
    add("")
    add("| smp | acks | size | partitions | congestion control | msgs/s | MB/s | vs buffered | "
        "vs buffered+end fsync | vs fdatasync | p50 | p99 | p99.9 | max | broker CPU-s/GB | errors |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in cells:
        r = c["result"]
        if c["mode"] != "produce" or c["name"].startswith("consume-fill"):
            continue
        if not r:
            add(f"| {c['smp']} | {c['acks']} | {size_label(c['message_size'])} | {c['partitions']} | "
                f"{congestion_control(c, s)} | failed (exit {c['exit_status']}) |||||||||||")
            continue
        b = bytes_per_sec(r)
        lat = r.get("latency_us") or {}
        add(f"| {c['smp']} | {c['acks']} | {size_label(c['message_size'])} | {c['partitions']} | "
            f"{congestion_control(c, s)} | {fmt_num(r['msgs_per_sec'], 0)} | {fmt_num(b / MB)} | "
            f"{fmt_ratio(ratio(b, limits['disk_buffered_write_bytes_per_sec']))} | "
            f"{fmt_ratio(ratio(b, limits['disk_buffered_end_fsync_write_bytes_per_sec']))} | "
            f"{fmt_ratio(ratio(b, limits['disk_fdatasync_write_bytes_per_sec']))} | "
            f"{fmt_us(lat.get('p50'))} | {fmt_us(lat.get('p99'))} | {fmt_us(lat.get('p999'))} | "
            f"{fmt_us(lat.get('max'))} | {fmt_num(r.get('broker_cpu_s_per_gb'), 3)} | {r.get('errors')} |")
    add("")
    add("Latency is from produce() to the delivery report, so it includes linger.ms and the client's queue "
        "at an unbounded rate.")
    add("")
    if any(c["mode"] == "produce" and "-cc-" in c["name"] for c in cells):
        add(f"The `{s.get('tcp_congestion_control_compare')}` rows run the 1 KiB acks=1 cell on one partition "
            f"once more, {s.get('cell_s')} s, with that congestion control for its connections instead of the "
            f"machine's {s.get('tcp_congestion_control')}: the producer's stream to the broker is paced as a "
            f"fetch response is (see the consume section). The disk limits involve no TCP.")
        add("")

    add("## Consume from the page cache")
    add("")
    consume_cells = [c for c in cells if c["mode"] == "consume"]
    if any(c["name"].startswith("consume-rcvbuf-default") for c in consume_cells):
        rcvbuf = int(s.get("consume_rcvbuf_bytes") or 0)
        fixed = (f"the consumer's socket receive buffer set to {rcvbuf // 1024 // 1024} MiB "
                 f"(`socket.receive.buffer.bytes`), then again with librdkafka's default, where the kernel "
                 f"sizes the buffer per connection" if rcvbuf else
                 f"the consumer's socket receive buffer left to the kernel: net.core.rmem_max "
                 f"({s.get('rmem_max')} B) is too small to set one that holds a 1 MiB fetch response")
        add(f"Each topic is read with {fixed}. librdkafka keeps one fetch in flight and a partition's "
            f"response is 1 MiB: where the kernel's own sizing leaves the window under that, the rest of "
            f"every response waits for the reader to open it again, and the broker's send goes in step "
            f"with the reader (bench/run says more).")
        add("")
    cc_compare = s.get("tcp_congestion_control_compare")
    if any(c["name"].startswith("consume-cc-") for c in consume_cells):
        add(f"The machine's TCP congestion control is {s.get('tcp_congestion_control')} (default qdisc "
            f"{s.get('default_qdisc') or 'unknown'}); every cell and the loopback limit of the targets run "
            f"with it. The `{cc_compare}` rows read the same topic once more with {cc_compare} for their "
            f"connections, and their ratios are to iperf3 with {cc_compare}. With bbr and no fq qdisc the "
            f"kernel paces each connection itself: a sender that keeps the window full (iperf3; a fetch "
            f"response of many partitions) sends in timed bursts, and the timers' sends run on whichever "
            f"CPU is there, much of it the broker's (bench/README.md, \"Congestion control\").")
        add("")
    add("| smp | partitions | consumers | receive buffer | congestion control | messages | msgs/s | MB/s | "
        "vs loopback TCP | vs loopback sendfile | broker CPU-s/GB |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in consume_cells:
        r = c["result"]
        if not r:
            add(f"| {c['smp']} | {c['partitions']} | — | — | — | failed (exit {c['exit_status']}) ||||||")
            continue
        b = bytes_per_sec(r)
        settings = r.get("settings") or {}
        consumers = settings.get("consumers", "—")
        rcvbuf = (settings.get("set") or {}).get("socket.receive.buffer.bytes")
        rcvbuf = f"{int(rcvbuf) / 1024 / 1024:g} MiB" if rcvbuf and rcvbuf != "0" else "kernel's"
        # A comparison cell is held against iperf3 under its own congestion control.
        compared = c["name"].startswith("consume-cc-")
        cc = congestion_control(c, s)
        loopback = limits.get("loopback_tcp_cubic_bytes_per_sec" if compared else "loopback_tcp_bytes_per_sec")
        sendfile = limits.get("loopback_tcp_sendfile_cubic_bytes_per_sec" if compared
                              else "loopback_tcp_sendfile_bytes_per_sec")
        add(f"| {c['smp']} | {c['partitions']} | {consumers} | {rcvbuf} | {cc} | {r['messages']:,} | "
            f"{fmt_num(r['msgs_per_sec'], 0)} | "
            f"{fmt_num(b / MB)} | {fmt_ratio(ratio(b, loopback))} | "
            f"{fmt_ratio(ratio(b, sendfile))} | "
            f"{fmt_num(r.get('broker_cpu_s_per_gb'), 3)} |")
    add("")

    add(f"## End to end against load (acks=1, 1 KiB, linger.ms {doc['settings'].get('e2e_linger_ms', '0')})")
    add("")
    add("The `e2e-peak` rows run the same producer and consumer without a rate limit; the rows after each "
        "run at 10%, 25% and 50% of its rate, and the latency targets are read at 50%.")
    add("")
    probed = any(c["mode"] == "e2e" and c["result"] and c["result"].get("wakeup_probe") for c in cells)
    if probed:
        add("The wake-up columns: during each cell a thread of the load tool slept 1 ms at a time and recorded "
            "how late each sleep ended (timer slack 1 ns): the delay with which this machine, under that "
            "load, hands a CPU back to a thread that waited, as it must to the broker's shard whenever a "
            "request arrives while it sleeps.")
        add("")
    add("| smp | partitions | share of peak | target msgs/s | achieved msgs/s | produce p50 | p99 | p99.9 | max | "
        "e2e p50 | p99 | p99.9 | max | consumed |" + (" wake-up p99 | p99.9 | max |" if probed else ""))
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|---|" if probed else ""))
    for c in cells:
        if c["mode"] != "e2e":
            continue
        r = c["result"]
        share = e2e_share_of_peak(cells, c)
        share_text = "peak" if not c["target_rate"] else (f"{share:.0%}" if share else "—")
        if not r:
            add(f"| {c['smp']} | {c['partitions']} | {share_text} | {fmt_num(c['target_rate'], 0)} | failed (exit "
                f"{c['exit_status']}) |||||||||")
            continue
        p, e = r.get("latency_us") or {}, r.get("e2e_latency_us") or {}
        w = (r.get("wakeup_probe") or {}).get("late_us") or {}
        target = fmt_num(c["target_rate"], 0) if c["target_rate"] else "unlimited"
        add(f"| {c['smp']} | {c['partitions']} | {share_text} | {target} | {fmt_num(r['msgs_per_sec'], 0)} | "
            f"{fmt_us(p.get('p50'))} | {fmt_us(p.get('p99'))} | {fmt_us(p.get('p999'))} | {fmt_us(p.get('max'))} | "
            f"{fmt_us(e.get('p50'))} | {fmt_us(e.get('p99'))} | {fmt_us(e.get('p999'))} | {fmt_us(e.get('max'))} | "
            f"{r.get('consumed_messages', '—'):,} |" +
            (f" {fmt_us(w.get('p99'))} | {fmt_us(w.get('p999'))} | {fmt_us(w.get('max'))} |" if probed else ""))
    add("")

    tails = [(c, tail_in_time(c, E2E_TARGET_US)) for c in cells if c["mode"] == "e2e" and c["target_rate"]]
    tails = [(c, t) for c, t in tails if t]
    if tails:
        add("### When the tail happened")
        add("")
        add("Each e2e cell also recorded the worst end-to-end latency of the messages sent in every "
            f"{tails[0][1]['window_s'] * 1000:.0f} ms (rb-load `--timeline-ms`), and bench/run noted when each "
            "segment file of the cell's topic was created (a segment after a partition's first is a roll, "
            "which syncs the 1 GiB segment it closes). A window is in a roll's wake when it starts from one "
            f"window before a roll to {ROLL_WAKE_S} s after it. Every message over 5 ms was sent in a window "
            "whose worst is over 5 ms, so the last column bounds the share of messages over 5 ms once the "
            "rolls' wakes are set aside: under 1% there means the rest of the cell meets the end-to-end p99 "
            "target.")
        add("")
        add("| smp | partitions | share of peak | rolls | windows over 5 ms | their messages | of them in a roll's "
            "wake | their messages | worst window | outside the wakes, over 5 ms at most |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for c, t in tails:
            share = e2e_share_of_peak(cells, c)
            rolls = (f"{len(t['rolls_s'])} (at " + ", ".join(f"{r:.1f}" for r in t["rolls_s"]) + " s)"
                     if t["rolls_s"] else "0") if t["birth_times_known"] else "unknown"
            worst = t["worst_window"]
            worst_text = f"{fmt_us(worst['worst_us'])} at {worst['at_s']:.1f} s" if worst else "—"
            at_most = t["outside_wake_at_most_over"]
            add(f"| {c['smp']} | {c['partitions']} | {f'{share:.0%}' if share else '—'} | {rolls} | {t['slow_windows']} | "
                f"{t['slow_messages'] / t['messages']:.1%} | {t['slow_windows_in_roll_wake']} | "
                f"{t['slow_messages_in_roll_wake'] / t['messages']:.1%} | {worst_text} | "
                f"{'—' if at_most is None else f'{at_most:.1%}'} |")
        add("")

    add("## Who used the CPU in each cell")
    add("")
    add("Shares of the whole machine (all CPUs) over each cell's measured window: the broker and the load tool "
        "from their own /proc/<pid>/stat, idle from /proc/stat (idle + iowait), everything else is the rest "
        "(mostly kernel threads: page-cache writeback, softirq). Process times and idle are counted by "
        "different clocks, so a share can be off by a few percent; a slightly negative remainder is that.")
    add("")
    returned = reporting and bool(memory)
    add("| smp | cell | broker | load tool | everything else | idle |" + (" returned to host |" if returned else ""))
    add("|---|---|---|---|---|---|" + ("---|" if returned else ""))
    for c in cells:
        row = cpu_split(c["result"])
        if row:
            line = f"| {c['smp']} | `{c['name']}` | " + " | ".join(f"{share:.0%}" for share in row) + " |"
            if returned:
                m = memory.get(f"smp{c['smp']}-{c['name']}")
                line += f" {m['returned_to_host_kib'] / 1024:,.0f} MiB |" if m else " — |"
            add(line)
    add("")

    failed = [c for c in cells if c["exit_status"] != 0 or not c["result"]]
    if failed:
        add("## Cells that failed")
        add("")
        for c in failed:
            add(f"- smp {c['smp']} `{c['name']}`: exit {c['exit_status']}")
            if c.get("output_tail"):
                add("")
                add("  ```")
                for line in c["output_tail"].strip().splitlines()[-8:]:
                    add("  " + line)
                add("  ```")
        add("")

    add("## Plots")
    add("")
    add(f"![throughput per message size]({base_name}-throughput.png)")
    add("")
    add(f"![latency distributions]({base_name}-latency.png)")
    add("")
    if any(c["mode"] == "e2e" and (c["result"] or {}).get("timeline") for c in cells):
        add(f"![worst latency over time at 50% of the peak]({base_name}-timeline.png)")
        add("")

    missed = [t for t in doc["targets"] if t["met"] is False]
    add("## Where the time goes")
    add("")
    if not missed:
        add("Every measured target was met.")
    else:
        add("Missed: " + "; ".join(sorted({t["target"] for t in missed})) + ".")
        add("")
        add("Who used the machine's CPU in the cell behind each missed row (shares of all CPUs, as in the "
            "table above): a machine with little idle left is full, whatever the broker's own share.")
        add("")
        add("| smp | cell | missed there | broker | load tool | everything else | idle |")
        add("|---|---|---|---|---|---|---|")
        by_cell = {}
        for t in missed:
            by_cell.setdefault((t["smp"], t["cell"]), []).append(t["target"])
        for (smp, name), names in by_cell.items():
            cell = find_cell(cells, smp, name) if name else None
            row = cpu_split(cell["result"]) if cell else None
            shares = " | ".join(f"{share:.0%}" for share in row) if row else "— | — | — | —"
            add(f"| {smp} | `{name}` | {'; '.join(names)} | {shares} |")
        add("")
        profile = doc["profile"]
        if not profile["perf_usable"]:
            add("`perf` could not attach to the broker on this machine (perf_event_paranoid or no permission), "
                "so there are no counters or profile in this run.")
        elif not profile["by_smp"]:
            add("`perf` was usable but produced no profile in this run.")
        for smp, prof in sorted(profile["by_smp"].items()):
            add(f"### --smp {smp}: produce acks=1 1 KiB, one partition, profiled apart from the measured cells")
            add("")
            if prof.get("load_during_profile"):
                ld = prof["load_during_profile"]
                add(f"Load during the profile: {fmt_num(ld.get('msgs_per_sec'), 0)} msgs/s, "
                    f"{fmt_num(ld.get('mb_per_sec'))} MB/s, broker {fmt_num(ld.get('broker_cpu_s_per_gb'), 3)} "
                    f"CPU-s/GB (perf itself costs some of it).")
                add("")
            if prof.get("perf_stat"):
                add("`perf stat -e task-clock,cycles,instructions -p <broker>` (a virtual machine may not expose "
                    "cycles and instructions: they then read `<not supported>`):")
                add("")
                add("```")
                for line in prof["perf_stat"].splitlines():
                    if line.strip():
                        add(line.rstrip())
                add("```")
                add("")
            if prof.get("top_symbols"):
                add("Top 15 symbols, `perf record -g` then `perf report --stdio --no-children --sort symbol`:")
                add("")
                add("| self % | symbol |")
                add("|---|---|")
                for row in prof["top_symbols"]:
                    add(f"| {row['percent']:.2f} | `{row['symbol']}` |")
                add("")
            else:
                said = prof.get("record_output") or "nothing"
                add(f"`perf record` gave no samples in this run (it said: {said.splitlines()[-1] if said.strip() else 'nothing'}).")
                add("")
        for line in read_profiles_markdown(profile.get("reads") or [], s):
            add(line)
    add("")

    add("## Microbenchmarks")
    add("")
    add("Run in the same command (Google Benchmark, JSON in the results file). Bytes/s are set beside memcpy "
        "of a 1 MiB buffer (in cache, as their working sets are) for in-memory work, and beside fio's buffered "
        "or fdatasync write for storage_bench's unsynced or synced appends.")
    add("")
    add("| benchmark | time | bytes/s | items/s | vs limit |")
    add("|---|---|---|---|---|")
    for target, micro in doc["microbenchmarks"].items():
        if "benchmarks" not in micro:
            why = (micro.get("error") or "").strip().splitlines()
            add(f"| {target} | failed: {why[0] if why else 'no output'} (see the results file) |||  |")
            continue
        for bench in micro["benchmarks"]:
            if bench.get("run_type") == "aggregate":
                continue
            unit = bench.get("time_unit", "ns")
            if bench.get("error_occurred"):
                add(f"| {target}/{bench['name']} | error: {bench.get('error_message', '')} ||||")
                continue
            bps = bench.get("bytes_per_second")
            name = bench["name"]
            if target == "memcpy_bench":
                limit, limit_name = None, None  # it is the limit
            elif target == "storage_bench" and ("GroupCommit" in name or "SyncEach" in name):
                limit, limit_name = limits["disk_fdatasync_write_bytes_per_sec"], "fio fdatasync"
            elif target == "storage_bench":
                limit, limit_name = limits["disk_buffered_write_bytes_per_sec"], "fio buffered"
            else:  # working sets of 1 MiB or less: held against memcpy of a buffer in cache
                limit = limits.get("memcpy_in_cache_bytes_per_sec") or limits.get("memcpy_bytes_per_sec")
                limit_name = "memcpy (in cache)"
            vs = "—"
            if bps and limit:
                vs = f"{bps / limit:.2f} of {limit_name}"
            add(f"| {target}/{bench['name']} | {bench.get('real_time', 0):,.1f} {unit} | "
                f"{fmt_rate(bps) if bps else '—'} | "
                f"{fmt_num(bench.get('items_per_second'), 0) if bench.get('items_per_second') else '—'} | {vs} |")
    add("")
    return "\n".join(lines)


# ---- Plots ----------------------------------------------------------------------------------------

def histogram_cdf(buckets):
    total = sum(count for _, count in buckets)
    xs, ys, running = [], [], 0
    for bound, count in buckets:
        running += count
        xs.append(bound)
        ys.append(running / total)
    return xs, ys


def plot(doc, base):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib missing, no plots", file=sys.stderr)
        return
    cells, limits = doc["cells"], doc["limits"]

    fig, ax = plt.subplots(figsize=(8, 5))
    for smp in (1, 2):
        for acks, style in (("1", "o-"), ("all", "s--")):
            points = sorted((c["message_size"], bytes_per_sec(c["result"]) / MB) for c in cells
                            if c["smp"] == smp and c["mode"] == "produce" and c["acks"] == acks and
                            c["partitions"] == 1 and c["result"] and not c["name"].startswith("consume-fill")
                            and "-cc-" not in c["name"])
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], style,
                        label=f"produce acks={acks}, --smp {smp}")
        # The plot holds the machine's own congestion control; its loopback line is under it too.
        consume = [c for c in cells if c["smp"] == smp and c["mode"] == "consume" and c["partitions"] == 1
                   and c["result"] and "-cc-" not in c["name"]]
        for c in consume:
            default = c["name"].startswith("consume-rcvbuf-default")
            ax.plot([c["message_size"]], [bytes_per_sec(c["result"]) / MB], "v" if default else "^",
                    markersize=9, label=f"consume (page cache{', kernel-sized receive buffer' if default else ''}),"
                                        f" --smp {smp}")
    for key, label, color in (("disk_buffered_write_bytes_per_sec", "fio buffered write", "tab:gray"),
                              ("disk_buffered_end_fsync_write_bytes_per_sec", "fio buffered + end fsync", "tab:brown"),
                              ("disk_fdatasync_write_bytes_per_sec", "fio write + fdatasync", "tab:red"),
                              ("loopback_tcp_bytes_per_sec", "loopback TCP (iperf3)", "tab:purple")):
        if limits.get(key):
            ax.axhline(limits[key] / MB, color=color, linestyle=":", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([100, 1024, 16384], ["100 B", "1 KiB", "16 KiB"])
    ax.set_xlabel("message size")
    ax.set_ylabel("MB/s (payload)")
    ax.set_title("Throughput per message size, one partition, beside the machine's limits")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(base + "-throughput.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    e2e_index = 0
    for c in cells:
        r = c["result"]
        if not r:
            continue
        if c["mode"] == "produce" and c["message_size"] == 1024 and not c["name"].startswith("consume-fill") \
                and "-cc-" not in c["name"] and r.get("latency_histogram_us"):
            xs, ys = histogram_cdf(r["latency_histogram_us"])
            axes[0].step(xs, ys, where="post",
                         label=f"acks={c['acks']}, {c['partitions']} part., --smp {c['smp']}")
        # The 50% cells only: the targets are read there (the peak and 10/25% rows are in the table).
        if c["mode"] == "e2e" and c["name"].startswith("e2e-acks1-") and "-at" not in c["name"]:
            # One color per cell, its produce and end-to-end curves alike.
            color = palette[e2e_index % len(palette)]
            e2e_index += 1
            for key, what, style in (("latency_histogram_us", "produce", "--"),
                                     ("e2e_latency_histogram_us", "end to end", "-")):
                if r.get(key):
                    xs, ys = histogram_cdf(r[key])
                    axes[1].step(xs, ys, style, where="post", color=color,
                                 label=f"{what}, {c['partitions']} part., --smp {c['smp']}")
    axes[0].set_title("Produce latency, 1 KiB, unbounded rate")
    axes[1].set_title("At 50% of the peak rate (acks=1, 1 KiB)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("latency (µs)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    axes[1].axvline(PRODUCE_TARGET_US, color="tab:red", linestyle=":")
    axes[1].axvline(E2E_TARGET_US, color="tab:red", linestyle="-.")
    axes[0].set_ylabel("fraction of messages at or below")
    fig.tight_layout()
    fig.savefig(base + "-latency.png", dpi=110)
    plt.close(fig)

    # The worst end-to-end latency per window over each 50% cell, with its segment rolls marked.
    timed = [c for c in cells if c["mode"] == "e2e" and c["name"].startswith("e2e-acks1-") and "-at" not in c["name"]
             and tail_in_time(c, E2E_TARGET_US)]
    if timed:
        fig, axes = plt.subplots(len(timed), 1, figsize=(10, 2.2 * len(timed)), sharex=True, squeeze=False)
        for ax, c in zip(axes[:, 0], timed):
            t = tail_in_time(c, E2E_TARGET_US)
            windows = c["result"]["timeline"]["e2e"]
            xs = [i * t["window_s"] for i in range(len(windows))]
            ax.step(xs, [max(worst, 1) / 1000 for _, worst in windows], where="post", color="tab:blue")
            for roll in t["rolls_s"]:
                ax.axvline(roll, color="tab:orange", linestyle="--")
            ax.axhline(E2E_TARGET_US / 1000, color="tab:red", linestyle="-.")
            ax.set_yscale("log")
            ax.set_ylabel("worst e2e (ms)")
            ax.set_title(f"--smp {c['smp']}, {c['partitions']} partition(s), 50% of the peak: "
                         "dashed = segment roll, dash-dot = 5 ms", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
        axes[-1, 0].set_xlabel("send time (s from the start of the cell)")
        fig.tight_layout()
        fig.savefig(base + "-timeline.png", dpi=110)
        plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="a bench/run raw output directory")
    parser.add_argument("--out", required=True, help="output path without extension")
    args = parser.parse_args()

    meta = read_meta(args.run_dir)
    limits = gather_limits(args.run_dir)
    cells = gather_cells(args.run_dir)
    doc = {
        "schema": "ringbroker-bench/1",
        "date": (meta.get("started") or "")[:10],
        "mode": meta.get("mode"),
        "started": meta.get("started"),
        "finished": meta.get("finished"),
        "git_commit": meta.get("git_commit"),
        "git_dirty": meta.get("git_dirty"),
        "machine": {k: meta.get(k) for k in ("host", "kernel", "cpu_model", "cpus", "memory_kib", "data_fs",
                                              "hypervisor", "free_page_reporting",
                                              "free_page_reporting_order", "free_page_reporting_delay_ms",
                                              "free_page_reporting_delay_ms_run", "memory_filled")},
        "settings": {**{k: meta.get(k) for k in ("batch_bytes", "linger_ms", "client_args", "sustained_s",
                                                  "cell_s", "fill_bytes", "port")},
                     **{k: meta[k] for k in ("tcp_congestion_control", "tcp_congestion_control_compare",
                                             "default_qdisc") if k in meta},
                     **{k: meta[k] for k in ("consume_rcvbuf_bytes", "rmem_max") if k in meta},
                     # Runs before these existed had linger.ms 0 and no warm-up in their e2e cells.
                     **{k: meta[k] for k in ("e2e_linger_ms", "e2e_warmup_s") if k in meta}},
        "limits": limits,
        "cells": cells,
        "targets": evaluate_targets(cells, limits, int(meta["cpus"]) if (meta.get("cpus") or "").isdigit()
                                    else None),
        "profile": gather_profile(args.run_dir, meta),
        "microbenchmarks": gather_micro(args.run_dir),
        "memory": gather_memory(args.run_dir),
    }
    base = args.out
    os.makedirs(os.path.dirname(os.path.abspath(base)), exist_ok=True)
    text = json.dumps(doc, indent=1)
    # Histogram buckets and other number pairs on one line each: the file stays readable and small.
    text = re.sub(r"\[\n\s*(-?[\d.e+-]+),\n\s*(-?[\d.e+-]+)\n\s*\]", r"[\1, \2]", text)
    with open(base + ".json", "w") as f:
        f.write(text + "\n")
    plot(doc, base)
    with open(base + ".md", "w") as f:
        f.write(markdown(doc, os.path.basename(base)))
        f.write("\n")
    missed = sum(1 for t in doc["targets"] if t["met"] is False)
    met = sum(1 for t in doc["targets"] if t["met"])
    beyond = sum(1 for t in doc["targets"] if t["met"] is False and t.get("out_of_reach_here"))
    print(f"report.py: {met} target rows met, {missed} missed ({beyond} of them out of reach on this "
          f"machine), {sum(1 for t in doc['targets'] if t['met'] is None)} not measured")


if __name__ == "__main__":
    main()
