#!/usr/bin/env python3
"""Run every test program given on the command line, each with a time limit,
and add up their "N passed, N failed" lines into one closing line."""
import os, re, subprocess, sys, time

LIMIT_S = int(os.environ.get('SLUICE_TEST_TIMEOUT', '300'))
total_pass = total_fail = 0
start = time.time()
for prog in sys.argv[1:]:
    name = os.path.basename(prog)
    print('== %s' % name, flush=True)
    try:
        proc = subprocess.run([prog], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=LIMIT_S)
        out, rc = proc.stdout.decode('utf-8', 'replace'), proc.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace') + '\nTIMEOUT after %ds\n' % LIMIT_S
        rc = -1
    sys.stdout.write(out)
    m = None
    for m in re.finditer(r'^(\d+) passed, (\d+) failed', out, re.M):
        pass
    if m:
        p, f = int(m.group(1)), int(m.group(2))
    else:
        p, f = 0, 0
    if rc != 0 and f == 0:
        print('%s exited with status %d' % (name, rc))
        f = 1
    total_pass += p
    total_fail += f
print('suite took %.1fs' % (time.time() - start))
print('%d passed, %d failed' % (total_pass, total_fail))
sys.exit(1 if total_fail or total_pass == 0 else 0)
