/**
 * Every bound in chorusdb, in one place (house rule 5). Names carry their unit last.
 * A bound that is reached gives a typed error or a counted drop, never unbounded growth.
 */

/** Messages one sender may have queued, unprocessed, at one receiving actor (per link). */
export const mailboxMessagesMaxDefault = 4096;
/** Hard ceiling for `mailboxMessagesMax`, so that a typo cannot disable the bound. */
export const mailboxMessagesMaxCeiling = 1 << 20;

/** Timers one actor may have pending at once; more is a programmer error (a timer leak). */
export const timersPerActorMax = 1024;
/** Longest timer delay an actor may ask for: 24 hours. */
export const timerDelayMsMax = 24 * 60 * 60 * 1000;

/**
 * The committer: messages for the application (committed entries to apply, in order) that wait while its
 * mailbox is full (its thread busy); past this many the node fails rather than skip an entry. They are
 * sent again every `committerRetryMs`.
 */
export const committerHeldMessagesMax = 65_536;
export const committerRetryMs = 1;

/** Messages actors send to the application while their node is starting, held until start returns. */
export const appBacklogMessagesMax = 65_536;

/** Inline host: messages delivered in one event-loop turn before yielding to I/O and timers. */
export const inlineTurnMessagesMax = 1024;

/** Thread host: messages packed into one postMessage; a larger burst goes out as several posts. */
export const portBatchMessagesMax = 1024;
/**
 * Thread host, batch encoding (src/transport/port-codec.ts): the encoder's buffer is kept at this size
 * between batches (a larger batch grows it for that batch only).
 */
export const portCodecBufferBytesKept = 64 * 1024;
/**
 * Thread host, batch encoding: the largest batch the codec writes; a larger one (a state image with its
 * frames) goes by structured clone, which copies each byte array on its own instead of into one buffer.
 */
export const portCodecBatchBytesMax = 4 * 1024 * 1024;
/** Thread host, batch encoding: a batch of at most this many bytes hands out views of its byte arrays; a larger one copies each, so that a small view never pins a large buffer. */
export const portCodecSharedBytesMax = 64 * 1024;
/**
 * Thread host, batch encoding: byte arrays the main thread sent that it keeps, to hand the very array back
 * when its bytes return unchanged (a change-set with its decoded form); at ~50k commits/s, ~80 ms of them.
 */
export const portCodecEchoEntriesMax = 4096;
/** Thread host, batch encoding: the largest byte array kept that way (so that the ring holds a few MB at most). */
export const portCodecEchoBytesMax = 1024;
/** Thread host, batch encoding: nesting deeper than this (a cycle reaches it) sends the batch by structured clone. */
export const portCodecDepthMax = 64;
/** Thread host, batch encoding: strings each end of a link keeps, to send a repeated one by number. */
export const portCodecStringsMax = 4096;
/** Thread host, batch encoding: the longest string value (in UTF-16 units) kept in that table; object keys are kept whatever their length. */
export const portCodecStringCharsMax = 32;
/**
 * Thread host: after activity, a worker keeps polling its ports this long before it sleeps in its event
 * loop. Waking a sleeping thread costs ~50 µs here; a hot poll answers in ~3 µs (bench/runtime.ts).
 */
export const threadSpinUsDefault = 50;
/** Thread host: the longest a worker polls in one go before it yields to its event loop (timers, I/O). */
export const threadSpinTurnMsMax = 2;
/**
 * Thread host: the heap (V8 old generation, MiB) each actor's worker may use, unless `actorHeapMb` says
 * otherwise. Past it the worker is stopped and its node fails, naming the actor: without a bound one
 * runaway actor took the whole process to ~4.3 GB (V8's own default limit, per thread) before it failed.
 * An actor holds the retained log (`transLogLength`: ~0.2-0.5 KB of heap per entry; entry bytes are
 * mostly off-heap) and what it hands on; 1 GiB is several times what the defaults use.
 */
export const actorHeapMbDefault = 1024;
/** The smallest `actorHeapMb` taken: below it a worker cannot load its modules. */
export const actorHeapMbMin = 16;
/** Thread host: how long start waits for every actor's worker to load and create it. */
export const threadStartMsMax = 30_000;
/** Thread host: how long stop() waits for actors to drain before terminating their workers. */
export const stopDrainMsMax = 5_000;
/** Thread host: log records a worker buffers before it forwards them; more are counted as dropped. */
export const workerLogRecordsMax = 1024;

/** Simulator: events one run may process before it is declared runaway. */
export const simEventsMaxDefault = 50_000_000;
/** Simulator: log records kept per simulation (oldest dropped first). */
export const simLogRecordsMax = 10_000;
/** Simulator: actors per simulated node. */
export const simActorsPerNodeMax = 64;
/** Simulator: nodes one simulation may hold (the network keeps a flat nodes × nodes table of paths). */
export const simNodesMax = 64;
/** Simulator swarm: the largest clock offset a seed gives a node, either way: 2 s. */
export const simClockSkewMsMax = 2_000;
/** Simulator swarm: the largest clock rate error a seed gives a node, either way (0.1: 10% fast or slow). */
export const simClockDriftMax = 0.1;
/** Simulator report: timeline entries (faults, role changes, node gaps) one run keeps; later ones are counted, not kept. */
export const simTimelineEntriesMax = 100_000;
/** chorus sim: sweeps of at most this many seeds print a line per seed; larger ones print failures only. */
export const simSeedLinesMax = 20;
/** chorus sim: plain progress lines one sweep prints on a non-terminal stderr. */
export const simProgressLinesMax = 20;
/** Simulator workloads: actor failures one run reports in full (the first ones are what matters). */
export const simActorFailuresReportedMax = 10;
/** Histories: events one history may hold, so that a runaway workload fails loudly instead of eating memory. */
export const historyEventsMax = 1_000_000;
/** Histories: nesting depth of one event's `value`; deeper is rejected instead of recursing without bound. */
export const historyValueDepthMax = 32;
/** Linearizability checker: states (linearized set, register value) one key's search may explore before it answers unknown. */
export const linearizableStatesPerKeyMax = 1_000_000;
/** Linearizability checker: memory the memo cache of one key's search may use before it answers unknown: 256 MiB. */
export const linearizableCacheBytesMax = 256 * 1024 * 1024;
/** Linearizability checker: operations of the longest consistent prefix shown in a failure report. */
export const linearizableExplainOpsMax = 20;
/** Checkers: anomalies a checker reports in detail; it still counts every one it finds. */
export const checkerAnomaliesReportedMax = 100;

/** Cluster: bytes of transactions waiting for commit before writers get OVERLOADED (`clusterSendBuf`). */
export const clusterSendBufDefault = 64 * 1024 * 1024;
/** Cluster: bytes of other nodes' writes a leader holds uncommitted before it refuses more (`clusterRecvBuf`). */
export const clusterRecvBufDefault = 128 * 1024 * 1024;
/** Cluster: how long a write may wait for its commit before it rejects with TIMEOUT. */
export const writeTimeoutMsDefault = 10_000;
/** Cluster: how long a cluster-wide stop() waits for every attached node to call stop too (`stopTimeoutMs`). */
export const stopTimeoutMsDefault = 30_000;
/** Cluster: forwarded proposals a leader remembers having acted on, so that a duplicated one is acted on once. */
export const forwardedSeenMax = 65_536;
/** Cluster: the application thread's work on a state image per event-loop turn before it lets others run. */
export const imageSliceMsMax = 4;
/**
 * Cluster: messages held behind a state image still loading (applies, confirmed reads, ...: ImageRestorer).
 * Past it the rest of the image loads at once, as it did before loading was sliced: the thread stalls, but
 * what waits for the image stays bounded whatever the cluster commits meanwhile.
 */
export const imageLoadHeldMessagesMax = 10_000;
/** Cluster: entries in one Raft append message. */
export const raftAppendEntriesMax = 256;
/**
 * Cluster: bytes of entries in one Raft append message (etcd's MaxSizePerMsg), as log-payload.ts counts
 * them; an entry larger on its own still goes alone. A follower far behind gets its entries in messages
 * of about this size, not of raftAppendEntriesMax entries whatever their size.
 */
export const raftAppendBytesMax = 1024 * 1024;
/**
 * Cluster: room a Raft message's envelope takes beside its entries or image frame. On a network with a
 * message bound (TCP's frameBytesMax), that bound less this is the most one log entry (one window batch,
 * so one write), one append's entries and one state-transfer frame (syncMsgSize) may take.
 */
export const raftMessageOverheadBytes = 1024;
/** Cluster: unacknowledged append messages per follower. */
export const raftInflightAppendsMax = 16;
/** Cluster: bytes the window flusher buffers before it must flush. */
export const windowBufferBytesMax = 4 * 1024 * 1024;
/**
 * Cluster (`transLogLength`): transactions kept in the log behind the latest state image, and applied
 * transactions between two images (a window batch is one entry of many). With `transLogSizeDefault`,
 * the bytes of entries for the same: whichever is reached first. The log holds at most about twice
 * this of committed entries (an arbiter's: see arbiterTransLogLengthsMax).
 */
export const transLogLengthDefault = 100_000;
export const transLogSizeDefault = 64 * 1024 * 1024;
/**
 * Cluster: an arbiter keeps the entries a data node of the membership may still need (it has no tables,
 * so no image to send one), but never more than this many `transLogLength` behind what it applied. A
 * data node down or cut off for longer is then past the arbiter's log, and catches up only from a data
 * node leading (an image), as every node did before arbiters kept entries for the data nodes.
 */
export const arbiterTransLogLengthsMax = 8;
/**
 * Cluster, state transfer (image-transfer.ts): a leader holds its log's compaction at an image being
 * taken for a follower or sent to one that keeps acknowledging chunks (compacted past, the image would be
 * useless once whole, and under steady writes a long transfer would start over for ever), however long
 * that takes, as long as the entries held beyond the usual retention weigh at most this many
 * `transLogSize` (each entry counted as its bytes plus `logTransactionHeapBytes` per transaction). Past
 * that the log is compacted as usual, and that transfer starts over with a later image.
 */
export const imageHoldTransLogSizesMax = 4;
/**
 * Cluster: what one transaction held in the log costs in memory beyond the bytes of its change-set (its
 * entry, the change-set's objects), for the bound above: ~0.7 KB per commit was measured retained in all
 * (docs/cluster.md, session 8).
 */
export const logTransactionHeapBytes = 512;
/**
 * Cluster, state transfer: a follower that acknowledged no new chunk for this many election timeouts no
 * longer holds compaction (its transfer goes on if it comes back before the log is compacted past it).
 * The leader sends again from what the follower last said it holds after each election timeout without
 * an acknowledgement (a lost chunk costs one timeout).
 */
export const imageStallElectionTimeouts = 3;
/** Cluster, state transfer: image chunks sent and not yet acknowledged, per follower (pipelined). */
export const imageChunksInflightMax = 64;
/** Cluster, state transfer: bytes of those chunks (one chunk always goes, however large). */
export const imageInflightBytesMax = 8 * 1024 * 1024;
/**
 * Replicator with a journal that syncs in the background: Readies written and waiting for their sync.
 * At this many the replicator syncs at once (blocking) instead, which makes all of them durable.
 */
export const raftSyncsPendingMax = 1024;
/** Cluster (`syncMsgObjects`, as in the seeds): rows in one state-transfer message. */
export const syncMsgObjectsDefault = 100;
/** Cluster (`syncMsgSize`): bytes of rows in one state-transfer message (a single larger row goes alone). */
export const syncMsgSizeDefault = 1024 * 1024;
/** Cluster: a state-transfer message may not be set larger than this (`syncMsgSize`). */
export const syncMsgSizeMax = 64 * 1024 * 1024;
/** Cluster: linearizable reads a leader holds while it confirms its leadership; more fail with NO_QUORUM. */
export const readsPendingMax = 65_536;
/** Cluster: times a write refused during an election (no leader, quorum held) is submitted again. */
export const noLeaderResubmitsMax = 3;
/** Cluster: voters a custom `checkQuorum` rule may have (it is tabled over every subset at open). */
export const customQuorumVotersMax = 16;
/**
 * Cluster: election timeouts without a heartbeat after which the quorum watcher calls a peer
 * disconnected (a cut link is noticed at once). Three, so that a busy machine does not flap.
 */
export const peerSilenceElectionTimeouts = 3;

// ---------------------------------------------------------------------------------------------------
// Transport (src/transport/tcp)
// ---------------------------------------------------------------------------------------------------

/** TCP transport: default largest frame payload a node sends or accepts: 16 MiB (a larger length closes the connection). */
export const tcpFrameBytesMaxDefault = 16 * 1024 * 1024;
/** TCP transport: hard ceiling for `frameBytesMax`, so that one peer cannot make a node buffer more. */
export const tcpFrameBytesMaxCeiling = 256 * 1024 * 1024;
/** TCP transport: largest frame accepted before a peer has authenticated (hello, challenge, proof). */
export const tcpHandshakeFrameBytesMax = 4 * 1024;
/** TCP transport: default bytes queued for one peer connection before further messages to it drop. */
export const tcpOutgoingBytesMaxDefault = 32 * 1024 * 1024;
/** TCP transport: hard ceiling for `outgoingBytesMax`. */
export const tcpOutgoingBytesMaxCeiling = 1024 * 1024 * 1024;
/** TCP transport: inbound connections that may be in their handshake at once; more are refused at accept. */
export const tcpPendingHandshakesMax = 64;
/** TCP transport: peers one network may list. */
export const tcpPeersMax = 1024;
/** TCP transport: characters in a node id, cluster name or actor name on the wire. */
export const tcpNameCharsMax = 256;
/** TCP transport: characters of a refusal reason sent by a peer that are kept for logs (the rest is cut). */
export const tcpReasonCharsMax = 200;
/** TCP transport: bytes of the random nonce each side contributes to the HMAC challenge. */
export const tcpNonceBytes = 32;
/**
 * TCP transport, without TLS: the most frame bytes (length prefixes included) one tag covers. A sender
 * closes a run of frames with its tag before it would pass this (a single larger frame is a run of its
 * own); a receiver holds at most this much, or that one frame, until the tag has checked.
 */
export const tcpTagRunBytesMax = 64 * 1024;
/** TCP transport, without TLS: the most frames one tag covers (a leader's answers to a batch of commits take one). */
export const tcpTagRunFramesMax = 1024;
/** TCP transport: the cluster secret must hold at least this many bytes. */
export const tcpSecretBytesMin = 16;
/** TCP transport: default time to connect, finish TLS and authenticate before giving up (`connectTimeout`). */
export const tcpConnectTimeoutMsDefault = 5_000;
/** TCP transport: default wait between dial attempts to a peer that is down (`connectInterval`). */
export const tcpConnectIntervalMsDefault = 1_000;
/** TCP transport: upper bound for `connectTimeout` and `connectInterval`: 10 minutes. */
export const tcpTimeMsMax = 10 * 60 * 1000;
/** TCP transport: default idle time before TCP keep-alive probes start (`keepAliveTime`); 0 turns keep-alive off. */
export const tcpKeepAliveTimeMsDefault = 60_000;
/** TCP transport: upper bound for `keepAliveTime`: 2 hours (the usual OS default idle time). */
export const tcpKeepAliveTimeMsMax = 2 * 60 * 60 * 1000;
/** TCP transport: upper bound for `keepAliveProbes` (Linux's TCP_KEEPCNT ceiling). */
export const tcpKeepAliveProbesMax = 127;
/** TCP transport: upper bound for `sslParams.verifyDepth` (OpenSSL's default depth). */
export const tcpVerifyDepthMax = 100;
/** TCP transport: upper bound for `socketSendBuf` / `socketRecvBuf` (stream high-water marks): 64 MiB. */
export const tcpSocketBufBytesMax = 64 * 1024 * 1024;
/** TCP transport: verify depth (certificates in a peer's chain beyond its own) allowed by default. */
export const tcpVerifyDepthDefault = 9;

// ---------------------------------------------------------------------------------------------------
// Store (src/store, src/disk, simulate/sim-disk.ts)
// ---------------------------------------------------------------------------------------------------

/** Tables in one schema. */
export const storeTablesMax = 256;
/** Fields in one table. */
export const storeFieldsPerTableMax = 256;
/** Secondary indexes on one table. */
export const storeIndexesPerTableMax = 32;
/** Fields in one primary key or index. */
export const storeKeyFieldsMax = 16;
/** Characters in a table, field or index name. */
export const storeNameCharsMax = 64;
/** UTF-16 code units in one string value, and bytes in one bytes value: 16 MiB. */
export const storeValueUnitsMax = 16 * 1024 * 1024;
/** Elements in one array value. */
export const storeArrayItemsMax = 65_536;
/** Rows one write transaction may write; more fails the transaction (VALIDATION). */
export const storeTxWritesMax = 100_000;
/** Keys and ranges one write transaction may record as read; more fails the transaction (VALIDATION). */
export const storeTxReadsMax = 1_000_000;
/**
 * Certification window, in versions: a change-set whose snapshot is older than this many versions
 * behind the store is refused as a conflict (snapshot too old). Bounds the per-key version memory.
 */
export const certifyWindowVersionsMax = 65_536;
/** Certification window, in written keys: older versions are forgotten first when more are held. */
export const certifyWindowKeysMax = 131_072;
/** Nesting of arrays and maps the store's msgpack decoder follows; deeper is a corrupt frame. */
export const storeDecodeDepthMax = 64;
/** Short strings (up to 16 bytes: map keys, node names) the msgpack decoder keeps, to make each once. */
export const storeDecodeStringCacheEntries = 1024;
/** Nesting of arrays and maps the msgpack encoder follows (as @msgpack/msgpack's default); deeper throws (a cycle, say). */
export const msgpackEncodeDepthMax = 100;
/** The msgpack decoder keeps views of the last buffer it read up to this size (one read chunk or so). */
export const storeDecodeCacheBytesMax = 4 * 1024 * 1024;
/**
 * Entries per sorted-btree node (its branching factor). 64 rather than the library's 32: measured on 1M
 * rows, 19 against 26 bytes per entry, scans twice and random replaces a quarter faster.
 */
export const storeTreeNodeEntriesMax = 64;
/**
 * Certification: keys written since a change-set's snapshot that are scanned to certify it; looking back
 * further builds a per-key index of the window (kept from then on).
 */
export const certifyScanKeysMax = 1024;
/**
 * Certification without the index: below this many key comparisons (keys looked up x keys written since
 * the snapshot) each lookup scans the keys written since; above it they are gathered in a map first.
 */
export const certifyDirectComparesMax = 16_384;
/** Other nodes' schemas one store may learn (evolution mode). */
export const storeKnownSchemasMax = 64;
/** Snapshot image: payload bytes in one frame unless the caller asks for fewer (a single larger row goes alone). */
export const snapshotFrameBytesTarget = 64 * 1024;
/**
 * Point index (point-index.ts): integer primary keys below this are kept in a dense array while dense
 * enough; larger keys go to a Map. Bounds the array well below V8's largest fast array.
 */
export const storeDenseKeysMax = 1 << 26;
/** Point index: an array of up to this many slots is kept whatever its density (beyond, at most half holes). */
export const storeDenseSlotsMin = 1024;
/** Snapshot image: rows in one rows frame unless the caller asks for fewer (Store.snapshot frameRowsMax). */
export const snapshotFrameRowsMaxDefault = 65_536;
/** Snapshot image: certification-window keys in one window frame. */
export const snapshotWindowFrameKeysMax = 4096;
/** Snapshot image and log: the largest frame payload a reader accepts (a larger length is corruption). */
export const frameBytesMax = 64 * 1024 * 1024;
/** Snapshot image: bytes gathered before one disk append while saving. */
export const snapshotWriteBytesMax = 1024 * 1024;
/** Bytes asked of the disk in one read while loading a snapshot or scanning a log. */
export const diskReadBytesMax = 1024 * 1024;
/** Transaction log: bytes written in one group commit; a larger backlog goes out in several groups. */
export const logGroupBytesMax = 4 * 1024 * 1024;
/** Transaction log, sync policy `batch`: default interval between group commits. */
export const logBatchIntervalMsDefault = 5;
/** Transaction log: default size at which a durable store checkpoints (snapshot plus log truncation). */
export const logCheckpointBytesDefault = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// Command line, admin and client ports (src/cli, src/admin, src/client)
// ---------------------------------------------------------------------------------------------------

/** Largest node configuration file `chorus node --config` reads. */
export const configBytesMax = 1024 * 1024;
/** Admin port (HTTP): connections open at once. */
export const adminConnectionsMax = 64;
/**
 * Admin port: connections open at once from one address; more are closed at once. So that one host
 * holding connections open cannot take them all (at adminConnectionsMax every new one was dropped).
 */
export const adminConnectionsPerAddressMax = 8;
/** Admin port: the longest one request may take, headers included (a /status answer takes well under 1 ms). */
export const adminRequestMsMax = 5_000;
/**
 * Admin port: the longest a connection may take to send a request's headers, from when it opened or
 * its last answer (a connection that sends nothing, or drips a header a second, is closed then).
 */
export const adminHeadersMsMax = 2_000;
/** Admin port: how long a connection may stay open idle between two requests. */
export const adminKeepAliveMsMax = 2_000;
/**
 * Admin port: how often the server checks its connections against the two bounds above (Node's
 * default is 30 s, so a held connection outlived them by up to 30 s: 64 of them locked the port out).
 */
export const adminCheckIntervalMs = 500;
/** `chorus status`: the longest it waits for a node's admin port to answer. */
export const statusRequestMsMax = 5_000;
/** `chorus node`: the longest a clean stop (SIGINT, SIGTERM) may take before the process exits anyway. */
export const nodeStopMsMax = 30_000;
/** Client port: authenticated client connections one node serves at once; more are refused. */
export const clientConnectionsMax = 1024;
/** Client port: requests one connection may have in flight; past it, requests are answered OVERLOADED. */
export const clientRequestsInFlightMax = 4096;
/**
 * Client port: answer bytes all clients' connections may hold in this process, waiting for slow
 * readers (`client.queuedAnswerBytesMax`; default, and the ceiling). Each connection's share is this
 * divided among the connected clients: past it, the connection's requests are left unread until its
 * answers drain; past the whole budget, a read's answer is replaced by OVERLOADED (src/client/answer-budget.ts).
 */
export const clientQueuedAnswerBytesMaxDefault = 64 * 1024 * 1024;
export const clientQueuedAnswerBytesMaxCeiling = 16 * 1024 * 1024 * 1024;
/** Client protocol: operations in one write or read request. */
export const clientOpsPerRequestMax = 1000;
/** Client protocol: rows one range operation returns at most (its default limit). */
export const clientRangeRowsMax = 10_000;
/** Client library: requests waiting for their answer on one connection; past it, requests fail OVERLOADED at once. */
export const clientPendingRequestsMax = 65_536;
/** Client library: default time a request may wait for its answer before it fails with TIMEOUT. */
export const clientRequestTimeoutMsDefault = 30_000;
/** LocalCluster (demo, benchmark, chaos): log lines kept per node process. */
export const localLogLinesMax = 10_000;
