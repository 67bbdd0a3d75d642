module github.com/hutong/hutong

go 1.26.8
