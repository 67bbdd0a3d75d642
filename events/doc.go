// Package events delivers subscriptions: governed change feeds pushed to
// consumer systems over NATS JetStream.
//
// The hub captures a resource's row changes in the transaction that makes
// them (sqlstore's changes table, read through hutong.ChangeFeed). Engine
// moves committed changes, in order, into the JetStream stream
// HUTONG_CHANGES (one subject per resource, each message deduplicated by
// the change's sequence), and runs one durable pull consumer per live
// subscription. For each batch it fetches, a deliverer checks the
// subscription's agreement (revoked, expired or gone: the subscription ends
// and nothing more is delivered), keeps the rows in the agreement's row
// scope and the subscription's filter, projects the subscribed fields,
// masks each value as the agreement says (standard.Masker of the
// agreement), records the batch as an audited act (hutong.Auditor, with the
// body's SHA-256) and only then delivers it: to the subscription's subject
// in the stream HUTONG_DELIVER, or by an HMAC-SHA256 signed webhook POST,
// retried with backoff and dead-lettered (stream HUTONG_DEAD) after the
// limit. The batch's messages are acknowledged after delivery, so delivery
// is at least once, in order, each change carrying an idempotency key.
//
// The NATS server is embedded by default (JetStream on disk under the data
// directory; 127.0.0.1:4222, or a free port when that is taken) or external
// by URL.
package events
