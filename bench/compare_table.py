"""The side-by-side table of a bench/compare.sh run: python3 bench/compare_table.py <results folder>."""
import glob, os, re, sys
results = sys.argv[1]

def num(s):
    return float(s.replace(',', ''))

def load(name):
    try:
        values = [float(v) for v in open(os.path.join(results, name + '.load')).read().split()]
    except OSError:
        return ''
    return f'{min(values):.1f}–{max(values):.1f}' if values else ''

closed = re.compile(r'^(?P<label>[^:]+): closed loop, \d+ visitors: (?P<rate>[\d,.]+) messages/s sustained; latency p50 (?P<p50>[\d,.]+) ms, p99 (?P<p99>[\d,.]+) ms; .*?: (?P<cpu>[\d,.]+) µs CPU, (?P<bytes>[\d,.]+) B allocated')
opened = re.compile(r'^(?P<label>[^:]+): open loop at (?P<offered>\d+)/s offered: (?P<rate>[\d,.]+) messages/s answered; latency p50 (?P<p50>[\d,.NaN]+) ms, p99 (?P<p99>[\d,.NaN]+) ms; (?P<late>\d+) unanswered(?: after 10 s; (?P<shed>\d+) not sent)?')
bridge = re.compile(r'^(?P<config>embedded|PostgreSQL \+ Redis), (?P<agent>instant agent|[\d.]+ s agent), (?P<chats>\d+) chats in flight: (?P<rate>[\d,.]+) messages/s answered; latency p50 (?P<p50>[\d,.NaN]+) ms, p99 (?P<p99>[\d,.NaN]+) ms')

rows = {}  # (section, config, measure) -> {version: [(value, load)]}
order = []
def add(section, config, measure, version, value, loadavg):
    key = (section, config, measure)
    if key not in rows:
        rows[key] = {'old': [], 'new': []}
        order.append(key)
    rows[key][version].append((value, loadavg))

for path in sorted(glob.glob(os.path.join(results, '*.log')), key=lambda p: (not os.path.basename(p).startswith('relay'), p)):
    name = os.path.basename(path)[:-4]
    m = re.match(r'(relay|bridge)-(?:(embedded|postgres)-)?(old|new)-r(\d+)$', name)
    if not m:
        continue
    kind, _, version, _ = m.groups()
    loadavg = load(name)
    for line in open(path, encoding='utf-8', errors='replace'):
        line = line.strip()
        if kind == 'relay':
            if c := closed.match(line):
                config = 'embedded' if c['label'].startswith('embedded') else 'PostgreSQL + Redis'
                add('relay', config, 'closed loop, messages/s sustained', version, num(c['rate']), loadavg)
                add('relay', config, 'closed loop p50 / p99 ms', version, (num(c['p50']), num(c['p99'])), loadavg)
                add('relay', config, 'CPU µs per message (gateway + client)', version, num(c['cpu']), loadavg)
                add('relay', config, 'allocated KB per message', version, num(c['bytes']) / 1024, loadavg)
            elif o := opened.match(line):
                config = 'embedded' if o['label'].startswith('embedded') else 'PostgreSQL + Redis'
                add('relay', config, f'open loop {o["offered"]}/s: answered/s', version, num(o['rate']), loadavg)
                add('relay', config, f'open loop {o["offered"]}/s: p50 / p99 ms', version, (num(o['p50']), num(o['p99'])), loadavg)
                add('relay', config, f'open loop {o["offered"]}/s: unanswered after 10 s', version, num(o['late']), loadavg)
                if o['shed'] is not None:
                    add('relay', config, f'open loop {o["offered"]}/s: not sent (2,000 awaiting replies)', version, num(o['shed']), loadavg)
        elif b := bridge.match(line):
            agent = 'instant' if b['agent'].startswith('instant') else b['agent'].replace(' agent', '')
            add('bridge', b['config'], f'{agent} agent, {b["chats"]} chats: messages/s', version, num(b['rate']), loadavg)
            add('bridge', b['config'], f'{agent} agent, {b["chats"]} chats: p50 / p99 ms', version, (num(b['p50']), num(b['p99'])), loadavg)

def fmt(value):
    if isinstance(value, tuple):
        return ' / '.join(fmt(v) for v in value)
    if value != value:
        return 'NaN'
    return f'{value:,.0f}' if abs(value) >= 100 else f'{value:,.1f}'

def cell(values):
    return '; '.join(f'{fmt(v)} ({l})' if l else fmt(v) for v, l in values) or '–'

def ratio(old, new):
    if not old or not new or isinstance(old[0][0], tuple):
        return ''
    o = sum(v for v, _ in old) / len(old)
    n = sum(v for v, _ in new) / len(new)
    return f'{n / o:.0%}' if o else ''

print('| | configuration | measure | old (906ea32), per round (load avg during run) | new (Orleans), per round (load avg during run) | new / old (mean) |')
print('|---|---|---|---|---|---:|')
for key in order:
    section, config, measure = key
    values = rows[key]
    print(f'| {section} | {config} | {measure} | {cell(values["old"])} | {cell(values["new"])} | {ratio(values["old"], values["new"])} |')
