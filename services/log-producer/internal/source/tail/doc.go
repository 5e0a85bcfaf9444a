// Package tail follows log files (paths or globs) and publishes their new lines.
//
// Data flow, once per poll: expand the globs → for each file, notice rotation (the path
// now names another file: drain the old one to its end, then start the new one from its
// beginning) and truncation (size below our position: start over) → read complete lines
// from the saved position in batches → Publish (returns once Kafka acknowledged) →
// advance the position → write the state file. Because the state is written only after
// the acknowledgement, a restart resumes exactly after the last acknowledged line: a
// graceful restart neither loses nor repeats lines (a crash between the acknowledgement
// and the state write repeats at most one batch).
//
// Polling (default every 250 ms) instead of inotify keeps it portable and makes rotation
// handling one code path; a poll of an idle file is one stat call.
package tail
