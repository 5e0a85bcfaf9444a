// Package statetopic shares the engine's learnt state between the replicas of the
// service, and keeps it across restarts, through a compacted Kafka topic
// (logwarden.state by default; docs/architecture.md has its records).
//
// Keys: "meta" holds the key of the fleet's keyed hashes (the latest meta record
// wins); "fleet/<n>" holds shard n of a replica's view of the fleet (templates and
// their history and rates, executables, hosts, network popularity), split by a hash of
// the template id or name so every record fits the topic's max.message.bytes;
// "users/<topic>/<partition>/<n>" holds chunk n of the users of one partition of the
// input topic with the offset they are valid up to.
//
// Every replica reads the whole topic before it joins the consumer group (Store.Run
// calls loaded), merging the fleet records into its engine, and keeps following it, so
// it learns what the others learnt. Every save interval (and at exit) it catches up
// with the topic, then writes its merged view of the fleet and the users of the
// partitions it handled since its last save. Fleet merges are unions and maxima
// (engine.MergeFleet): replicas converge without a leader. When a partition is
// assigned to it, the handler restores the partition's users from the topic
// (Store.Users) and replays the input topic only from their offset onward.
package statetopic
