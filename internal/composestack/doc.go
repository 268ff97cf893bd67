// Package composestack holds the end-to-end proof of docker-compose.yaml: imagegen builds its
// four images from store closures, Compose runs the stack on the host network
// (deploy/compose/hostnet.yaml), and Prometheus's aggregate of the 3 shards equals their merge.
package composestack
