#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Every bpfmesh command has help, and docs/cli.md is true to the code.

The command list comes from the binary's own dispatch table
(`bpfmesh help --commands`), so a command added to main.c without help or
without a section in docs/cli.md fails here. For each command: `help CMD`
and `CMD --help` print the same usage with at least one example of that
command; docs/cli.md has a section whose SYNOPSIS is exactly that usage and
which describes every option the usage names; and every option string the
command's parser compares against appears in its usage. Errors point to the
next step. Needs no root: nothing here touches the kernel.
ctest-labels: unit demo
"""
import os
import re
import subprocess
import sys

BIN = os.environ["BPFMESH"]
SRC = os.environ["BM_SOURCE_DIR"]
fails = []

# Parsers of each command (options compared with strcmp or getopt_long).
SOURCES = {
    "attach": ["control/cmd_attach.c", "control/cmd_sock.c"],
    "agent": ["control/cmd_agent.c", "control/agent_rootless.c", "control/cmd_agent_node.c",
              "control/agent_ident.c"],
    "get": ["control/cmd_get.c"],
    "delete": ["control/cmd_delete.c"],
    "auth": ["control/cmd_auth.c", "control/cmd_handshake.c"],
    "observe": ["control/cmd_observe.c"],
    "policy": ["control/cmd_policy.c"],
    "rootless": ["control/cmd_rootless.c", "control/cmd_rootless_ops.c",
                 "control/cmd_rootless_ctl.c"],
    "runtime": ["control/cmd_runtime.c"],
    "status": ["control/cmd_status.c"],
    "guard": ["control/cmd_guard.c"],
    "apply": ["control/cmd_apply.c"],
    "identity": ["identity/ident_cli.c", "identity/ident_cli_check.c"],
}
# Accepted but deliberately not advertised: "--" ends options for exec, and
# rootless run takes the agent's --rootless so one option set serves both;
# identity's own -h/--help are main.c's "CMD --help" reached another way.
HIDDEN = {"rootless": {"--", "--rootless"}, "identity": {"-h", "--help"}}


def check(name, ok):
    print(("ok: " if ok else "FAIL: ") + name)
    if not ok:
        fails.append(name)


def run(*args):
    p = subprocess.run([BIN, "--state-dir", "/nonexistent-bm-cli", *args],
                       capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def usage_of(text):
    lines = text.split("\n")
    out = []
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        out.append(line)
    return out


def options_in(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b", text))


def parsed_options(cmd):
    found = set()
    for rel in SOURCES.get(cmd, []):
        src = open(os.path.join(SRC, rel)).read()
        found |= set(re.findall(r'"(--[a-z][a-z0-9-]*|-[a-zA-Z]|--)"', src))
        found |= {"--" + n for n in
                  re.findall(r'\{"([a-z][a-z0-9-]*)", *(?:required|no|optional)_argument', src)}
    return found - HIDDEN.get(cmd, set())


doc = open(os.path.join(SRC, "docs/cli.md")).read()
sections = dict(re.findall(r"^### bpfmesh (\S+)\n(.*?)(?=^### |^## |\Z)", doc, re.S | re.M))

rc, out, _ = run("help", "--commands")
cmds = out.split()
check(f"help --commands lists the table ({len(cmds)} commands)", rc == 0 and len(cmds) >= 14)
rc, summary, _ = run("help")
check("bpfmesh help names every command",
      rc == 0 and all(f"bpfmesh {c}" in summary for c in cmds))

for c in cmds:
    rc, h, _ = run("help", c)
    usage = usage_of(h)
    check(f"{c}: help prints a usage", rc == 0 and h.startswith("usage:\n") and usage)
    check(f"{c}: help has an example of the command",
          re.search(rf"^example: bpfmesh {c}\b", h, re.M) is not None)
    rc2, h2, _ = run(c, "--help")
    check(f"{c}: '{c} --help' prints the same help", rc2 == 0 and h2 == h)
    sec = sections.get(c)
    check(f"{c}: docs/cli.md has a section", sec is not None)
    if sec is None:
        continue
    m = re.search(r"```\n(.*?)\n```", sec, re.S)
    check(f"{c}: docs/cli.md SYNOPSIS is the usage", m is not None and m.group(1).split("\n") == usage)
    described = set(re.findall(r"`(-[-a-z0-9]*)", sec.split("```", 2)[-1]))
    missing = options_in("\n".join(usage)) - described
    check(f"{c}: docs/cli.md describes every option of the usage {sorted(missing) or ''}",
          not missing)
    unlisted = parsed_options(c) - options_in("\n".join(usage))
    check(f"{c}: the usage names every option the parser takes {sorted(unlisted) or ''}",
          not unlisted)

stale = set(sections) - set(cmds)
check(f"docs/cli.md has no section for a command that does not exist {sorted(stale) or ''}",
      not stale)
glob = options_in(summary.split("\n")[0])
check("docs/cli.md describes every global option",
      glob and all(f"`{o}" in doc for o in glob))

rc, _, err = run("frob")
check("unknown command: exit 2 and says to run 'bpfmesh help'",
      rc == 2 and "run 'bpfmesh help'" in err)
rc, _, err = run("help", "frob")
check("unknown help topic: exit 2 and says to run 'bpfmesh help'",
      rc == 2 and "run 'bpfmesh help'" in err)
rc, out, _ = run("policy", "load", "--help")
check("'--help' after a subcommand word prints the command's help",
      rc == 0 and out.startswith("usage:\n  bpfmesh policy load"))
rc, out, err = run("rootless", "exec", "shop/web", "--", "ls", "--help")
check("'--help' after '--' belongs to the workload's command, not to bpfmesh",
      rc == 2 and not out.startswith("usage:") and "rootless exec" in err)
rc, _, err = run("observe", "--verdict")
check("bad option: the usage and where the examples are",
      rc == 2 and "usage: bpfmesh observe" in err and "bpfmesh observe --help" in err)

rc, _, err = run("agent", "status")
check("no agent: exit 2 and says how to start one",
      rc == 2 and "start one with 'bpfmesh agent'" in err)

print(f"{len(fails)} failed")
sys.exit(1 if fails else 0)
