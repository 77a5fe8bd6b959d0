#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the hand-made source of qemu-sim-2kernels.ndjson to stdout.

Two runs of campaign rebind-sweep (scenario rebind-race of docs/config.md) on the QEMU
target qemu-sim, one per kernel: `stock` and `lkml-v1`. Each run sweeps the consumers'
probe offset over 0, 20, 40 and 60 ms with 5 cycles per point (20 cycles). The facts the
integration tests rely on:
  - stock:   decon late_iommu_probe in cycles 0, 1, 2 (offset 0) and 5, 6 (offset 20 ms);
             decon deferred_ok in the other cycles at 0 and 20 ms, ok at 40 and 60 ms;
             decon-ctl deferred_ok at offset 0, ok elsewhere.
  - lkml-v1: decon-ctl late_iommu_probe in cycle 0 (offset 0), deferred_ok in cycles 1-4,
             ok elsewhere; decon deferred_ok at 0 and 20 ms, ok at 40 and 60 ms.
The committed bundle is not this output but what the real code makes of it:
    probestorm --database DB import SRC && probestorm --database DB export UUID
(see regenerate.sh). The QEMU kit will replace it with a bundle recorded in the guest.
"""
import json

STEPS = [
    "unbind decon", "unbind decon-ctl", "unbind sysmmu-b", "unbind sysmmu-a",
    "bind sysmmu-a", "concurrent bind sysmmu-b @0, probe decon @${offset}, "
    "probe decon-ctl @${offset}", "wait-bound decon 2s",
]
OFFSETS = [0, 20000, 40000, 60000]
PER_POINT = 5

RUNS = [
    {
        "uuid": "3f1c9a52-7d4e-4b6a-9c21-5e8f0a7b6d10", "label": "stock",
        "version": "#1 SMP PREEMPT Thu Nov 19 08:12:44 UTC 2026",
        "build_id": "9b2e4c1f7a0d3e5b8c6f1a2d4e7b9c0f3a5d8e1b", "patches": None,
        "started": "2026-11-20T10:00:00Z", "finished": "2026-11-20T10:00:31Z",
        "late": {"decon": {0, 1, 2, 5, 6}},
    },
    {
        "uuid": "8a6d2e17-0b3c-4f59-8e4a-c7d1f2b3a904", "label": "lkml-v1",
        "version": "#2 SMP PREEMPT Thu Nov 19 09:40:02 UTC 2026",
        "build_id": "e4d7a1c3b6f9082e5d1c4a7b0f3e6d9c2b5a8f1e",
        "patches": "iommu-fwspec-ready-v1@5c3e9f1",
        "started": "2026-11-20T11:00:00Z", "finished": "2026-11-20T11:00:30Z",
        "late": {"decon-ctl": {0}},
    },
]


def consumer_obs(run, dev, seq, offset, group, t0):
    late = seq in run["late"].get(dev, set())
    early = offset <= (20000 if dev == "decon" else 0)
    if late:
        outcome, deferrals, reason, ttb = "late_iommu_probe", 0, None, 1_840_000 + seq * 1000
    elif early:
        outcome, deferrals = "deferred_ok", 1
        reason = "platform: wait for supplier /soc/sysmmu@19850000"
        ttb = 3_200_000 + seq * 7000
    else:
        outcome, deferrals, reason, ttb = "ok", 0, None, 950_000 + seq * 3000
    return {
        "device": dev, "consumer": True, "driver": "ps-decon", "iommu_group": group,
        "domain_type": "identity", "time_to_bound_ns": ttb, "deferrals": deferrals,
        "deferred_reason": reason, "outcome": outcome,
    }


def cycle(run, seq, kseq, useq):
    offset = OFFSETS[seq // PER_POINT]
    t0 = 20_000_000_000 + seq * 1_500_000_000
    obs = [
        consumer_obs(run, "decon", seq, offset, 0, t0),
        consumer_obs(run, "decon-ctl", seq, offset, 1, t0),
        {"device": "sysmmu-a", "consumer": False, "driver": "ps-sysmmu", "iommu_group": -1,
         "time_to_bound_ns": 410_000, "deferrals": 0, "outcome": "ok"},
        {"device": "sysmmu-b", "consumer": False, "driver": "ps-sysmmu", "iommu_group": -1,
         "time_to_bound_ns": 62_300_000, "deferrals": 0, "outcome": "ok"},
    ]
    actions = []
    t = t0 + 1_000_000
    for i, (verb, arg) in enumerate([("unbind", "decon"), ("unbind", "decon-ctl"),
                                     ("unbind", "sysmmu-b"), ("unbind", "sysmmu-a"),
                                     ("bind", "sysmmu-a")]):
        actions.append({"idx": i, "group": -1, "verb": verb, "arg": arg, "offset_us": 0,
                        "start_ns": t, "end_ns": t + 180_000, "err": 0, "hung": False})
        t += 400_000
    g0 = t
    actions.append({"idx": 5, "group": 0, "verb": "bind", "arg": "sysmmu-b", "offset_us": 0,
                    "start_ns": g0, "end_ns": g0 + 62_000_000, "err": 0, "hung": False})
    for idx, dev in ((6, "decon"), (7, "decon-ctl")):
        o = next(x for x in obs if x["device"] == dev)
        start = g0 + offset * 1000 + 15_000
        actions.append({"idx": idx, "group": 0, "verb": "probe", "arg": dev,
                        "offset_us": offset, "start_ns": start,
                        "end_ns": start + 240_000,
                        "err": 22 if o["outcome"] == "deferred_ok" else 0, "hung": False})
    w = g0 + 62_500_000 + offset * 1000
    actions.append({"idx": 8, "group": -1, "verb": "wait-bound", "arg": "decon",
                    "params": None, "offset_us": 0, "start_ns": w, "end_ns": w + 4_100_000,
                    "err": 0, "hung": False})

    events = [{"source": "kmsg", "class": "marker", "seq": kseq, "ts_ns": t0, "prio": 5,
               "message": "probestorm: run=%s cycle=%d begin" % (run["uuid"], seq)}]
    kseq += 1
    notes = []
    for o in obs[:2]:
        dev = o["device"]
        if o["outcome"] == "late_iommu_probe":
            ts = g0 + offset * 1000 + 200_000
            events.append({"source": "kmsg", "class": "late_iommu_probe", "seq": kseq,
                           "ts_ns": ts, "prio": 4, "device": "platform:" + dev,
                           "message": "ps-decon %s: late IOMMU probe at driver bind, "
                                      "something fishy here!" % dev})
            events.append({"source": "kmsg", "class": "late_iommu_probe", "seq": kseq + 1,
                           "ts_ns": ts + 2000, "prio": 4,
                           "message": "WARNING: drivers/iommu/iommu.c:432 at "
                                      "__iommu_probe_device+0x1a8/0x4d0",
                           "detail": "Call trace:\n __iommu_probe_device+0x1a8/0x4d0\n "
                                     "iommu_probe_device+0x38/0x80\n "
                                     "really_probe+0x16c/0x3c0"})
            kseq += 2
            notes.append("%s: late IOMMU probe at driver bind" % dev)
        events.append({"source": "uevent", "class": "uevent", "seq": useq,
                       "ts_ns": g0 + offset * 1000 + o["time_to_bound_ns"],
                       "device": "platform:" + dev,
                       "message": "bind@/devices/platform/%s" % dev,
                       "detail": "ACTION=bind\nDEVPATH=/devices/platform/%s\n"
                                 "SUBSYSTEM=platform\nDRIVER=ps-decon" % dev})
        useq += 1
    events.append({"source": "kmsg", "class": "marker", "seq": kseq,
                   "ts_ns": t0 + 1_400_000_000, "prio": 5,
                   "message": "probestorm: run=%s cycle=%d end" % (run["uuid"], seq)})
    kseq += 1
    worst = "late_iommu_probe" if notes else (
        "deferred_ok" if any(o["outcome"] == "deferred_ok" for o in obs[:2]) else "ok")
    return {
        "type": "cycle", "run": run["uuid"], "seq": seq, "boot": 0, "sweep_value": offset,
        "start_ns": t0, "end_ns": t0 + 1_400_000_000, "outcome": worst,
        "deferrals": sum(o["deferrals"] for o in obs), "note": "; ".join(notes),
        "actions": actions, "observations": obs, "events": events,
    }, kseq, useq


def main():
    for run in RUNS:
        kernel = {
            "release": "7.3.4-probestorm", "version": run["version"],
            "build_id": run["build_id"],
            "cmdline": "console=ttyAMA0 rdinit=/init fw_devlink=on", "label": run["label"],
            "fw_devlink": "on",
        }
        if run["patches"]:
            kernel["patches"] = run["patches"]
        print(json.dumps({
            "type": "run", "uuid": run["uuid"], "campaign": "rebind-sweep",
            "scenario": "rebind-race", "scenario_text": "\n".join(STEPS),
            "target": "qemu-sim", "target_kind": "qemu", "hostname": "probestorm-guest",
            "load_profile": "cpu-half", "load_args": "--cpu 2 --cpu-load 50",
            "sweep_var": "offset", "cycles_planned": len(OFFSETS) * PER_POINT,
            "started_at": run["started"], "status": "running", "kernel": kernel,
        }))
        print(json.dumps({"type": "event", "run": run["uuid"], "boot": 0, "source": "kmsg",
                          "class": "info", "seq": 0, "ts_ns": 0, "prio": 5,
                          "message": "Linux version 7.3.4-probestorm (builder@probestorm) "
                                     "(aarch64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0) "
                                     + run["version"]}))
        kseq, useq = 1000, 3000
        for seq in range(len(OFFSETS) * PER_POINT):
            c, kseq, useq = cycle(run, seq, kseq, useq)
            print(json.dumps(c))
        print(json.dumps({"type": "end", "run": run["uuid"], "status": "finished",
                          "finished_at": run["finished"],
                          "load_metrics": "metrics:\n  - stressor: cpu\n    bogo-ops: 81234\n"}))


if __name__ == "__main__":
    main()
