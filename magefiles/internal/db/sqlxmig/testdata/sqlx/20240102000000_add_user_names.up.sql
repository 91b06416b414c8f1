-- Reversible sqlx migration: description and checksum come from this file.
ALTER TABLE users ADD COLUMN name text;
