module github.com/sample-app/sample-app/bench/openloop

go 1.26.0
