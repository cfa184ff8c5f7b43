import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l)
    rs=j['out']['results']
    base=rs[0]['pairs_per_s_cpu']
    print(f"round {j['round']} {j['isa']:6s} {j['binary']:5s} " + "  ".join(f"{r['model'].replace('/tmp/lead/','')}={r['pairs_per_s_cpu']:.0f}({r['pairs_per_s_cpu']/base:.2f})" for r in rs))
