// Package nbio makes system calls on non-blocking descriptors — read, write, poll with a zero
// timeout, splice — without the Go runtime's path for calls that may block.
//
// That path (entersyscall) wakes the runtime's monitor thread, sysmon, whenever sysmon sleeps,
// which it does each time the process goes idle; a process that goes idle and busy hundreds of
// times a second, as the swarm's metering proxy does, then pays for sysmon's wake-ups and its
// 20 µs polling sleeps after each. A call on a non-blocking descriptor returns at once (EAGAIN
// when it would block), so it needs none of that. On Linux these are raw system calls; elsewhere
// the ordinary ones.
package nbio
