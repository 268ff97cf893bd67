// Command pause is the pod sandbox ("pause") program of the test cluster's own sandbox image:
// it holds the pod's namespaces by waiting until SIGTERM or SIGINT, and reaps orphans when it
// is the pod's PID 1 (shareProcessNamespace). Images cannot be pulled on the test machines, so
// the test builds this image with imagegen instead of pulling registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
