/// What `dynamis -D` prints (Dynomite's `--describe-stats`): where the stats are served and
/// what the main `/info` fields count.
public enum StatsDescription {
    public static let text = """
        Stats are served on stats_listen: /info as JSON in Dynomite's layout, /metrics in the Prometheus text format.

        info:
          uptime                   "# seconds since start-up"
          latency_max              "# largest request latency in microseconds (reads and writes)"
          latency_999th/99th/95th  "# request latency percentiles in microseconds (bucket upper bounds)"
          latency_mean             "# mean request latency in microseconds"
          payload_size_*           "# request argument bytes: max, percentiles and mean"

        pool:
          client_eof               "# client connections closed"
          client_connections       "# client connections open"
          client_read_requests     "# read requests from clients"
          client_write_requests    "# write requests from clients"
          client_dropped_requests  "# requests refused by the node's state"
          peer_connections         "# connections to peers"
          peer_requests            "# requests sent to peers"
          peer_responses           "# responses received from peers"
          peer_timedout_requests   "# requests to same-DC peers that timed out"
          peer_dropped_requests    "# requests to same-DC peers lost or not sent"
          remote_peer_*            "# the same for peers in other datacenters"

        server:
          read_requests            "# reads executed on this node's datastore"
          write_requests           "# writes executed on this node's datastore"

        """
}
