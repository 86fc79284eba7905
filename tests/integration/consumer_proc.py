"""A confluent-kafka group consumer as its own process, for tests that stop
(SIGSTOP) or kill it. Prints one line per event on stdout:
    assigned <p,p,...>       after each assignment change
    consumed <partition> <offset>
Usage: consumer_proc.py BOOTSTRAP GROUP TOPIC [key=value ...]"""
import sys

from confluent_kafka import Consumer


def main():
    bootstrap, group, topic = sys.argv[1:4]
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    }
    for kv in sys.argv[4:]:
        k, v = kv.split("=", 1)
        conf[k] = v
    c = Consumer(conf)

    def show(parts):
        print("assigned " + ",".join(str(p.partition) for p in sorted(
            parts, key=lambda p: p.partition)), flush=True)

    c.subscribe([topic], on_assign=lambda _c, parts: show(parts),
                on_revoke=lambda _c, parts: show([]))
    while True:
        msgs = c.consume(num_messages=100, timeout=0.2)
        good = [m for m in msgs if not m.error()]
        for m in good:
            print("consumed %d %d" % (m.partition(), m.offset()), flush=True)
        if good:
            c.commit(asynchronous=False)


if __name__ == "__main__":
    main()
