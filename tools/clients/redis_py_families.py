#!/usr/bin/env python3
"""Runs one call of every command family through redis-py (5.x) and prints what Python got.

Usage: redis_py_families.py HOST PORT PROTOCOL

Prints one line per call: the call, then repr() of the Python value redis-py returned (or of
the exception). Run it against redis-server and against a Dynamis node and compare the two
outputs: with PROTOCOL 3 this checks the RESP3 reply types end to end through a real client
(doubles, maps, sets, pairs, nulls), with 2 the RESP2 ones.
"""
import sys

import redis


def main():
    host, port, protocol = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    r = redis.Redis(host=host, port=port, protocol=protocol, decode_responses=False)
    r.flushall()
    calls = [
        # strings and keyspace
        ("set", lambda: r.set("s", "v")), ("get", lambda: r.get("s")), ("get missing", lambda: r.get("nope")),
        ("incrbyfloat", lambda: r.incrbyfloat("f", 1.5)), ("mget", lambda: r.mget("s", "nope", "f")),
        ("getex", lambda: r.getex("s", ex=100)), ("ttl", lambda: r.ttl("s")), ("type", lambda: r.type("s")),
        ("exists", lambda: r.exists("s", "nope")), ("lcs", lambda: r.lcs("s", "f")),
        ("strlen", lambda: r.strlen("s")), ("append", lambda: r.append("s", "w")), ("getrange", lambda: r.getrange("s", 0, 0)),
        # hashes
        ("hset", lambda: r.hset("h", mapping={"a": "1", "b": "2"})), ("hgetall", lambda: r.hgetall("h")),
        ("hgetall missing", lambda: r.hgetall("nope")), ("hmget", lambda: r.hmget("h", "a", "x")),
        ("hincrbyfloat", lambda: r.hincrbyfloat("h", "a", 0.5)), ("hkeys", lambda: sorted(r.hkeys("h"))),
        ("hrandfield withvalues", lambda: r.hrandfield("h1", 1, withvalues=True)),
        # lists
        ("rpush", lambda: r.rpush("l", "a", "b", "c")), ("lrange", lambda: r.lrange("l", 0, -1)),
        ("lpop count", lambda: r.lpop("l", 2)), ("lpos", lambda: r.lpos("l", "c")), ("lmpop", lambda: r.lmpop(1, "l", direction="LEFT")),
        ("blpop", lambda: r.blpop(["nope"], timeout=0.01)),
        # sets
        ("sadd", lambda: r.sadd("set", "a", "b")), ("smembers", lambda: r.smembers("set")),
        ("smembers missing", lambda: r.smembers("nope")), ("sismember", lambda: r.sismember("set", "a")),
        ("smismember", lambda: r.smismember("set", ["a", "z"])), ("sinter", lambda: r.sinter("set", "nope")),
        # sorted sets
        ("zadd", lambda: r.zadd("z", {"a": 1, "b": 2.5, "c": 3})), ("zscore", lambda: r.zscore("z", "b")),
        ("zmscore", lambda: r.zmscore("z", ["a", "x"])), ("zrange withscores", lambda: r.zrange("z", 0, -1, withscores=True)),
        ("zrangebyscore", lambda: r.zrangebyscore("z", 1, 2.5, withscores=True)), ("zpopmin", lambda: r.zpopmin("z", 1)),
        ("zincrby", lambda: r.zincrby("z", 0.25, "b")), ("zunion", lambda: r.zunion(["z", "nope"], withscores=True)),
        ("zrank", lambda: r.zrank("z", "c")), ("zrandmember", lambda: r.zrandmember("z", 5)),
        ("zmpop", lambda: r.zmpop(1, ["z"], max=True)), ("bzpopmin", lambda: r.bzpopmin(["z"], timeout=1)),
        # bitmaps
        ("setbit", lambda: r.setbit("bits", 7, 1)), ("getbit", lambda: r.getbit("bits", 7)),
        ("bitcount", lambda: r.bitcount("bits")), ("bitpos", lambda: r.bitpos("bits", 1)),
        ("bitop", lambda: r.bitop("OR", "bits2", "bits", "nope")), ("bitfield", lambda: r.bitfield("bits").incrby("u8", 0, 3).get("i4", 4).execute()),
        # HyperLogLog
        ("pfadd", lambda: r.pfadd("hll", "a", "b", "c")), ("pfcount", lambda: r.pfcount("hll")),
        ("pfmerge", lambda: r.pfmerge("hll2", "hll")), ("pfcount merged", lambda: r.pfcount("hll2", "hll")),
        # geo
        ("geoadd", lambda: r.geoadd("g", [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"])),
        ("geopos", lambda: r.geopos("g", "Palermo", "nope")), ("geodist", lambda: r.geodist("g", "Palermo", "Catania", unit="km")),
        ("geohash", lambda: r.geohash("g", "Palermo", "nope")),
        ("geosearch", lambda: r.geosearch("g", longitude=15, latitude=37, radius=200, unit="km", withdist=True, withcoord=True, withhash=True, sort="ASC")),
        ("georadius", lambda: r.georadius("g", 15, 37, 200, unit="km", withdist=True, sort="DESC")),
        ("georadiusbymember", lambda: r.georadiusbymember("g", "Palermo", 200, unit="km")),
        ("geosearchstore", lambda: r.geosearchstore("g2", "g", member="Palermo", width=400, height=400, unit="km", storedist=True)),
        ("zrange geo dist", lambda: r.zrange("g2", 0, -1, withscores=True)),
        # transactions, scan, server
        ("pipeline", lambda: r.pipeline(transaction=True).set("t", "1").incr("t").get("t").zscore("z", "c").execute()),
        ("scan", lambda: sorted(r.scan_iter(match="h*"))), ("dbsize", lambda: r.dbsize()), ("echo", lambda: r.echo("hi")),
        ("ping", lambda: r.ping()), ("del", lambda: r.delete("s", "h", "nope")), ("object encoding", lambda: r.object("encoding", "nope")),
    ]
    for name, call in calls:
        try:
            value = call()
        except Exception as error:  # a reply error is part of what is compared
            value = "%s: %s" % (type(error).__name__, error)
        if isinstance(value, set):  # a set's repr order follows Python's hash seed
            value = ("set", sorted(value))
        print("%s -> %r" % (name, value))


if __name__ == "__main__":
    main()
