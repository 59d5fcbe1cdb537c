-- The one table of the users function. Applied by `npm run example:users` and by the tests.
CREATE TABLE IF NOT EXISTS users (
  id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text        NOT NULL,
  email      text        NOT NULL UNIQUE,
  created_by text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
