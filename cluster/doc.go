// Package cluster runs ebb serve's prompts on many workers through NATS
// JetStream: a server.Backend (Backend) that queues prompts on a
// work-queue stream and mirrors the history and the queue from key-value
// buckets, a Worker that pulls prompts, runs them on its own engine and
// stores their entries and output files, and an embedded NATS server
// (StartEmbedded) for the single-machine case.
//
// What lives in JetStream (names in names.go):
//
//   - stream EBB_PROMPTS (work-queue retention, file storage): one message
//     per queued prompt, the server.Job as JSON, on ebb.prompts.run
//     (prompts with the next default number: first in, first out) or
//     ebb.prompts.front (front and explicit numbers: the lowest first).
//     Two durable pull consumers with explicit acks share it among workers.
//   - KV EBB_QUEUE: the pending and running prompts (GET /queue, delete,
//     clear); a prompt deleted from it is skipped when its message comes.
//   - KV EBB_HISTORY: one entry per prompt id, written with Create, so a
//     second completion of the same prompt is dropped and counted.
//   - object store EBB_FILES: the output files the entries name, so /view
//     works on every server.
//   - KV EBB_WORKERS: each worker's counters (runs, duplicates,
//     dead-lettered, cache-affinity hits).
//   - stream EBB_DLQ: malformed messages and prompts that failed too many
//     deliveries, with the reason in the Ebb-Reason header.
//   - subjects ebb.events.<prompt> (core NATS): a prompt's WebSocket
//     messages, relayed by every server to its clients; ebb.ctl.interrupt
//     and ebb.ctl.free for POST /interrupt and POST /free.
//
// A worker acks a prompt only after its entry is stored, and marks it in
// progress every AckWait/3 while it runs, so a worker that dies has its
// prompt redelivered after AckWait. docs/scale-out.md describes the
// topology and the failure semantics.
package cluster
