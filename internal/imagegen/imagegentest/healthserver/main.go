// Command healthserver is a tiny static HTTP server for imagegen's image tests: `serve` answers
// /health with 200, and `healthcheck --url U` exits 0 when U answers 200 (an exec-form Docker
// healthcheck that needs no shell and no curl).
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		addr := fs.String("listen", "127.0.0.1:8080", "address to listen on")
		_ = fs.Parse(os.Args[2:])
		http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
		srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
		fmt.Fprintln(os.Stderr, "healthserver: listening on", *addr)
		if err := srv.ListenAndServe(); err != nil {
			fmt.Fprintln(os.Stderr, "healthserver:", err)
			os.Exit(1)
		}
	case "healthcheck":
		fs := flag.NewFlagSet("healthcheck", flag.ExitOnError)
		url := fs.String("url", "http://127.0.0.1:8080/health", "URL that must answer 200")
		_ = fs.Parse(os.Args[2:])
		c := &http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(*url)
		if err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "unhealthy:", resp.Status)
			os.Exit(1)
		}
	case "-h", "--help", "help":
		usage()
	default:
		usage()
		os.Exit(2)
	}
}

func usage() {
	fmt.Println("usage: healthserver serve [--listen ADDR] | healthcheck [--url URL] | --help")
}
