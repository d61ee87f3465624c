from scim_facade.cli import main

main()
