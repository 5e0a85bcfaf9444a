// Package shellcmd analyses a shell command line the way the shell would run it, so
// detection rules see each process instead of one opaque string.
//
// Analyze parses the line with mvdan.cc/sh/v3/syntax (bash dialect) and returns every
// simple command it would start, in source order: the stages of pipelines, the members of
// && / || / ; lists, subshells, blocks, loop and if bodies, command and process
// substitutions. For each command it keeps the argument vector (quotes removed, expansions
// kept as written), the statement text, leading environment assignments (LD_PRELOAD=…,
// HISTFILE=…) and redirections (> >> < <<< &> …, also those of an enclosing compound
// statement), plus the indexes of the other stages of its pipeline.
//
// Payloads are unwrapped and analysed as children of the command that carries them:
// `sh -c` / `bash -c` / `su -c` scripts, `eval`, here-strings and here-documents fed to a
// shell, `find -exec`, the command after a prefix wrapper (sudo, doas, env, nohup,
// timeout, nice, xargs, busybox, chroot, …) and literals decoded inside a pipeline
// (`echo … | base64 -d`, `xxd -r -p`, `rev`, printf escapes). Unwrapping stops at depth
// MaxDepth and at MaxCommands commands, so hostile input costs bounded work.
//
// A line the parser rejects yields Analysis{Parsed: false} and no commands: callers match
// such a line on its raw text only.
package shellcmd
