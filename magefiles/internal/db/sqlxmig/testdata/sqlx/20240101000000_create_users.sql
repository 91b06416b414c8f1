-- Simple sqlx migration: <version>_<description>.sql
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE
);

CREATE FUNCTION users_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.email := lower(NEW.email); -- a ';' inside a dollar-quoted body
    RETURN NEW;
END;
$$;
