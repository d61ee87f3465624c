from identity_service.cli import main

main()
