/** The seed documentation's session, line by line as it is typed after the prompt. */
export const SEED_SESSION = [
  '# set_secret(key, value)',
  "set_secret('MY_SECRET', 'random_string')",
  '# define a dictionary secret using json.dumps',
  'import json',
  "set_secret('MY_SECRET_DIC', json.dumps({'a_key': 'a_value'}))",
  '# upload a secret file',
  "set_secret('my_secret_file.dat', '/somewhere/secret_file_path', is_file=True)",
  '# list_secret(full=False)',
  'list_secrets()',
];
