module github.com/tasker-systems/tasker-build

go 1.25.0

tool github.com/magefile/mage

require (
	github.com/golang-migrate/migrate/v4 v4.19.1 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/joho/godotenv v1.5.1 // indirect
	github.com/magefile/mage v1.17.2 // indirect
	golang.org/x/text v0.41.0 // indirect
)
