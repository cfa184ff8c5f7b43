#!/usr/bin/env python3
"""Median speedup tables (markdown rows) from dropfast-2026-11-21-*.jsonl."""
import json,sys,statistics
# usage: dropfast-2026-11-21-table.py FILE.jsonl...  -> markdown rows: model, variant, before, after
sp={}; pp={}
for f in sys.argv[1:]:
    for line in open(f):
        d=json.loads(line)
        base=d['results'][0]['pairs_per_s_cpu']
        for r in d['results']:
            k=(d['model'].split('/')[-1],r['variant'],d['label'])
            sp.setdefault(k,[]).append(r['pairs_per_s_cpu']/base)
            pp.setdefault(k,[]).append(r['pairs_per_s_cpu'])
names={'full':'full','lat-a':'[0.7,0.45,0.4,0.3]','lat-b':'[0.55,0.5,0.4,0.2]','lat-c':'[0.85,0.1,0.1,0.1]','lat-d':'[0.35,0.35,0.3,0.3]'}
for m in ['fp32v','obs80v']:
    for v in names:
        b=sp[(m,v,'main')]; a=sp[(m,v,'dropfast')]
        print('| %s | %s | %.0f | %.0f | %.2fx | %.2fx | %s | %s |'%(
            {'fp32v':'fp32 demo','obs80v':'obs80 int8'}[m], names[v],
            statistics.median(pp[(m,v,'main')]), statistics.median(pp[(m,v,'dropfast')]),
            statistics.median(b), statistics.median(a),
            '/'.join('%.2f'%x for x in b), '/'.join('%.2f'%x for x in a)))
