// Package k8s holds no program code: its tests validate the deployment files of the
// repository against the code they deploy. They load docker-compose.yml with
// compose-go, scan the services' Dockerfiles, render every Kustomize overlay under
// k8s/overlays with krusty and decode each object strictly into the Kubernetes API
// types, and read the monitoring files under k8s/monitoring. Every environment
// variable these files set is checked against the configuration keys the service
// actually reads (envnames_test.go derives them from the services' config structs).
package k8s
