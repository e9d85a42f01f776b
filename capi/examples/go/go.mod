module pyhost.example/go

go 1.19
